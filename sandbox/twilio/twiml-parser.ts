/**
 * Just enough TwiML for the sandbox to act on what a voice app answers: `<Say>`, `<Hangup/>`, `<Pause>`
 * and `<Connect [action]><Stream url><Parameter/></Stream></Connect>`. Other verbs are kept by name so a
 * run can report them, and are otherwise skipped.
 */

export type TwimlVerb =
  | { verb: 'Say'; text: string }
  | { verb: 'Hangup' }
  | { verb: 'Pause'; lengthSeconds: number }
  | { verb: 'Connect'; action?: string; stream: { url: string; parameters: Record<string, string> } }
  | { verb: 'Other'; name: string };

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function unescapeXml(text: string): string {
  return text.replace(/&(amp|lt|gt|quot|apos|#\d+|#x[0-9a-f]+);/gi, (_, name: string) => {
    if (name[0] === '#') {
      return String.fromCodePoint(
        name[1] === 'x' || name[1] === 'X' ? parseInt(name.slice(2), 16) : Number(name.slice(1)),
      );
    }
    return ENTITIES[name.toLowerCase()];
  });
}

function attributes(tag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const match of tag.matchAll(/([A-Za-z_:][\w:.-]*)\s*=\s*("([^"]*)"|'([^']*)')/g)) {
    out[match[1]] = unescapeXml(match[3] ?? match[4] ?? '');
  }
  return out;
}

/** Throws when the document has no `<Response>`: Twilio would speak an application error. */
export function parseTwiml(xml: string): TwimlVerb[] {
  const body = /<Response\b[^>]*?(?:\/>|>([\s\S]*)<\/Response>)/.exec(xml);
  if (!body) throw new Error('TwiML without a <Response> element');
  const inner = body[1] ?? '';
  const verbs: TwimlVerb[] = [];
  // Top-level elements: self-closing, or open … close of the same name.
  const element = /<([A-Za-z]+)\b([^>]*?)(?:\/>|>([\s\S]*?)<\/\1\s*>)/g;
  for (const match of inner.matchAll(element)) {
    const [, name, attrs, content = ''] = match;
    const attr = attributes(attrs);
    switch (name) {
      case 'Say':
        verbs.push({ verb: 'Say', text: unescapeXml(content.trim()) });
        break;
      case 'Hangup':
        verbs.push({ verb: 'Hangup' });
        break;
      case 'Pause':
        verbs.push({ verb: 'Pause', lengthSeconds: Number(attr.length ?? 1) });
        break;
      case 'Connect': {
        const stream = /<Stream\b([^>]*?)(?:\/>|>([\s\S]*?)<\/Stream\s*>)/.exec(content);
        if (!stream) {
          verbs.push({ verb: 'Other', name: 'Connect' });
          break;
        }
        const parameters: Record<string, string> = {};
        for (const param of (stream[2] ?? '').matchAll(/<Parameter\b([^>]*?)\/?>/g)) {
          const p = attributes(param[1]);
          if (p.name) parameters[p.name] = p.value ?? '';
        }
        verbs.push({
          verb: 'Connect',
          action: attr.action,
          stream: { url: attributes(stream[1]).url ?? '', parameters },
        });
        break;
      }
      default:
        verbs.push({ verb: 'Other', name });
    }
  }
  return verbs;
}
