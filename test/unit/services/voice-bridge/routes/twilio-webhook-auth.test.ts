import { describe, expect, it } from 'vitest';
import {
  publicUrlOf,
  rawPathAndQuery,
} from '../../../../../services/voice-bridge/routes/twilio-webhook-auth.ts';

describe('publicUrlOf', () => {
  it('puts the received path and raw query on the public base, never the Host we saw', () => {
    expect(
      publicUrlOf('https://voice.example.com/', 'http://10.0.0.7:3001/webhooks/voice/status?callId=a&x=%27'),
    ).toBe('https://voice.example.com/webhooks/voice/status?callId=a&x=%27');
  });

  it('gives the wss:// form for Media Streams upgrades', () => {
    expect(publicUrlOf('https://voice.example.com', 'http://localhost/media/42', '/media/42', true)).toBe(
      'wss://voice.example.com/media/42',
    );
    expect(publicUrlOf('http://127.0.0.1:3001', 'http://127.0.0.1:3001/media/42', '/media/42', true)).toBe(
      'ws://127.0.0.1:3001/media/42',
    );
  });

  it('does not repeat a mount prefix the public base already carries (edge function under /voice-bridge)', () => {
    expect(
      publicUrlOf(
        'https://ref.supabase.co/functions/v1/voice-bridge',
        'http://edge/voice-bridge/webhooks/voice/answer?callId=1',
        '/webhooks/voice/answer',
      ),
    ).toBe('https://ref.supabase.co/functions/v1/voice-bridge/webhooks/voice/answer?callId=1');
  });

  it('reads the path and query from a request URL', () => {
    expect(rawPathAndQuery('http://h:1/a/b?c=d')).toBe('/a/b?c=d');
    expect(rawPathAndQuery('http://h')).toBe('/');
  });
});
