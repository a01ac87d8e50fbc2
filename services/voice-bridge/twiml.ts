/** The few TwiML documents this service answers with. Values are escaped: they carry URLs and ids. */

const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>';

export function escapeXml(value: string): string {
  return value.replace(
    /[&<>"']/g,
    (ch) => `&${{ '&': 'amp', '<': 'lt', '>': 'gt', '"': 'quot', "'": 'apos' }[ch]};`,
  );
}

export interface StreamTwimlOptions {
  /** `wss://…/media/{callId}` */
  streamUrl: string;
  /** Sent back to us in the stream's `start` message as `customParameters`. */
  parameters: Record<string, string>;
  /** Twilio requests this when the stream ends, so we can still speak a fallback before hanging up. */
  actionUrl?: string;
}

/**
 * Bridges the call to our Media Streams endpoint.
 *
 * @example
 * connectStreamTwiml({ streamUrl: 'wss://voice.example.com/media/42', parameters: { callId: '42' } });
 */
export function connectStreamTwiml(options: StreamTwimlOptions): string {
  const params = Object.entries(options.parameters)
    .map(([name, value]) => `<Parameter name="${escapeXml(name)}" value="${escapeXml(value)}"/>`)
    .join('');
  const action = options.actionUrl ? ` action="${escapeXml(options.actionUrl)}"` : '';
  return `${XML_DECLARATION}<Response><Connect${action}><Stream url="${escapeXml(options.streamUrl)}">${params}</Stream></Connect></Response>`;
}

/** The caller hears a short message, then the call ends. */
export function sayAndHangupTwiml(message: string): string {
  return `${XML_DECLARATION}<Response><Say>${escapeXml(message)}</Say><Hangup/></Response>`;
}

export function hangupTwiml(): string {
  return `${XML_DECLARATION}<Response><Hangup/></Response>`;
}

/** What Twilio expects from a status callback: any 2xx; an empty document keeps its debugger quiet. */
export function emptyTwiml(): string {
  return `${XML_DECLARATION}<Response/>`;
}
