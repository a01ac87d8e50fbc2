import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { loadWhatsAppConfig } from '../../../../services/whatsapp-webhook/config.ts';
import { createMessageRouter } from '../../../../services/whatsapp-webhook/message-router.ts';
import { optKeywords } from '../../../../services/whatsapp-webhook/opt-out-keywords.ts';
import { firstKeyword } from '../../../../services/whatsapp-webhook/route-config.ts';
import { ConfigError } from '../../../../shared/config/index.ts';

const secret = () => `whsec_${randomBytes(32).toString('base64')}`;

const routes = (list: Record<string, unknown>[]) =>
  loadWhatsAppConfig({ WHATSAPP_ROUTES: JSON.stringify(list) }).settings.routing.routes;

function configProblems(list: unknown): { variable: string; reason: string }[] {
  try {
    loadWhatsAppConfig({ WHATSAPP_ROUTES: typeof list === 'string' ? list : JSON.stringify(list) });
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('message router', () => {
  const router = createMessageRouter(
    routes([
      {
        name: 'booking',
        url: 'http://127.0.0.1:9/booking',
        secret: secret(),
        replyIds: ['ride'],
        replyIdPrefixes: ['ride:', 'ride:moto:'],
        keywords: ['book', 'Tegeka', 'Réserver'],
        sticky: true,
      },
      {
        name: 'moto',
        url: 'http://127.0.0.1:9/moto',
        secret: secret(),
        replyIdPrefixes: ['ride:moto:fast'],
        keywords: ['moto'],
      },
      {
        name: 'support',
        url: 'http://127.0.0.1:9/support',
        secret: secret(),
        keywords: ['help', 'ubufasha'],
      },
    ]),
    optKeywords(['stop'], ['start']),
  );
  const text = (t: string) => ({ fromWaId: '250788000001', type: 'text', text: t, replyId: null });
  const reply = (id: string, title = 'Choice') => ({
    fromWaId: '250788000001',
    type: 'interactive',
    text: title,
    replyId: id,
  });

  it('takes a reply id first: exact, then the longest prefix', () => {
    expect(router.match(reply('ride'), undefined)).toEqual({
      route: 'booking',
      kind: 'reply_id',
      value: 'ride',
    });
    expect(router.match(reply('ride:car'), undefined)).toMatchObject({ route: 'booking', kind: 'reply_id' });
    expect(router.match(reply('ride:moto:fast:1'), undefined)).toMatchObject({ route: 'moto' });
    // The reply id wins over the title's keyword and over the conversation's route.
    expect(router.match(reply('ride', 'help'), 'support')).toMatchObject({ route: 'booking' });
  });

  it('then the first word as a keyword: any case, accents and punctuation ignored', () => {
    expect(router.match(text('BOOK a moto'), undefined)).toEqual({
      route: 'booking',
      kind: 'keyword',
      value: 'book',
    });
    expect(router.match(text('  tegeka moto'), undefined)).toMatchObject({ route: 'booking' });
    expect(router.match(text('reserver une moto'), undefined)).toMatchObject({ route: 'booking' });
    expect(router.match(text('¡RÉSERVER!'), undefined)).toMatchObject({ route: 'booking' });
    expect(router.match(text('🚕 ubufasha'), undefined)).toMatchObject({
      route: 'support',
      value: 'ubufasha',
    });
    // Only the first word counts.
    expect(router.match(text('I need help'), undefined)).toBeNull();
    // An unknown reply id falls through to the title's keyword.
    expect(router.match(reply('unknown', 'Help me'), undefined)).toMatchObject({ route: 'support' });
  });

  it('then the route holding the conversation, for any message type; else the agent (null)', () => {
    expect(router.match(text('Kigali'), 'booking')).toEqual({
      route: 'booking',
      kind: 'sticky',
      value: null,
    });
    expect(
      router.match({ fromWaId: '250788000001', type: 'location', text: null, replyId: null }, 'booking'),
    ).toMatchObject({ route: 'booking', kind: 'sticky' });
    // A keyword for another route takes the message there.
    expect(router.match(text('help'), 'booking')).toMatchObject({ route: 'support', kind: 'keyword' });
    expect(router.match(text('Kigali'), undefined)).toBeNull();
    // A claim by a route no longer configured is ignored.
    expect(router.match(text('Kigali'), 'retired')).toBeNull();
  });

  it('never routes STOP/START (this service answers them) or a message without a sender', () => {
    expect(router.match(text('STOP'), 'booking')).toBeNull();
    expect(router.match({ fromWaId: null, type: 'text', text: 'book', replyId: null }, undefined)).toBeNull();
  });

  it('routes nothing when no route is configured', () => {
    const none = createMessageRouter([], optKeywords([], []));
    expect(none.active).toBe(false);
    expect(none.match(text('book'), 'booking')).toBeNull();
  });

  it('reads the first word of a sentence', () => {
    expect(firstKeyword('  Hello, world')).toBe('hello');
    expect(firstKeyword('... !!')).toBeNull();
    expect(firstKeyword(null)).toBeNull();
  });
});

describe('WHATSAPP_ROUTES', () => {
  it('is refused naming the entry and field when malformed or ambiguous', () => {
    expect(configProblems('[{')).toEqual([
      { variable: 'WHATSAPP_ROUTES', reason: 'must be a JSON array of routes' },
    ]);
    const problems = configProblems([
      { name: 'a', url: 'ftp://x', secret: 'whsec_c2hvcnQ=' },
      { name: 'b', url: 'http://127.0.0.1/b', secret: secret(), keywords: ['Book'], extra: 1 },
      { name: 'c', url: 'http://127.0.0.1/c', secret: secret(), keywords: ['BOOK!'] },
    ]);
    const variables = problems.map((p) => p.variable);
    expect(variables).toContain('WHATSAPP_ROUTES.0.url');
    expect(variables).toContain('WHATSAPP_ROUTES.0.secret');
    expect(variables).toContain('WHATSAPP_ROUTES.1');
    expect(problems.find((p) => p.variable === 'WHATSAPP_ROUTES.0.secret')?.reason).toMatch(/24 to 64/);
  });

  it('names a keyword two routes claim', () => {
    const problems = configProblems([
      { name: 'b', url: 'http://127.0.0.1/b', secret: secret(), keywords: ['Book'] },
      { name: 'c', url: 'http://127.0.0.1/c', secret: secret(), keywords: ['BOOK!'] },
    ]);
    expect(problems).toEqual([
      { variable: 'WHATSAPP_ROUTES.1.keywords', reason: `keyword "book" is already routes[0]'s` },
    ]);
  });

  it('fills defaults from the service-wide settings', () => {
    const [route] = loadWhatsAppConfig({
      WHATSAPP_ROUTES: JSON.stringify([{ name: 'a', url: 'https://h.example/a', secret: secret() }]),
      WHATSAPP_ROUTE_STICKY_TTL_SECONDS: '600',
      WHATSAPP_ROUTE_TIMEOUT_MS: '2000',
    }).settings.routing.routes;
    expect(route).toMatchObject({ sticky: false, stickyTtlSeconds: 600, timeoutMs: 2000, keywords: [] });
  });
});
