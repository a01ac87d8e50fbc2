import { describe, expect, it } from 'vitest';
import { nodeSigner } from '../../../load/runner/flow-driver.ts';
import {
  formEncode,
  twilioSigningPayload,
  voiceStatusRequest,
  whatsappWebhookRequest,
} from '../../../load/scenarios/requests.js';
import { verifyMetaSignature } from '../../../shared/webhooks/meta-signature.ts';
import { computeTwilioSignature, verifyTwilioSignature } from '../../../shared/webhooks/twilio-signature.ts';

const fixedRandom = () => {
  let seed = 42;
  return () => {
    seed = (seed * 16807) % 2147483647;
    return seed / 2147483647;
  };
};

describe('load request signing', () => {
  it('matches Twilio’s published validator example', () => {
    const params = {
      CallSid: 'CA1234567890ABCDE',
      Caller: '+14158675309',
      Digits: '1234',
      From: '+14158675309',
      To: '+18005551212',
    };
    const payload = twilioSigningPayload('https://mycompany.com/myapp.php?foo=1&bar=2', params);
    expect(nodeSigner.hmacSha1Base64('12345', payload)).toBe('RSOYDt4T1cUTdK1PDd93/VVr8B8=');
  });

  it('signs voice status callbacks so the project’s Twilio verifier accepts them', () => {
    const random = fixedRandom();
    for (let i = 0; i < 20; i++) {
      const req = voiceStatusRequest({
        publicUrl: 'http://127.0.0.1:3001/',
        authToken: 'sandbox-twilio-auth-token',
        accountSid: 'AC00000000000000000000000000000000',
        sign: nodeSigner,
        random,
        now: () => Date.UTC(2026, 0, 1, 12),
      });
      const params = Object.fromEntries(new URLSearchParams(req.body));
      expect(params.CallSid).toMatch(/^CA[0-9a-f]{32}$/);
      expect(params.Timestamp).toBe('Thu, 01 Jan 2026 12:00:00 +0000');
      expect(req.headers?.['X-Twilio-Signature']).toBe(
        computeTwilioSignature(
          'sandbox-twilio-auth-token',
          'http://127.0.0.1:3001/webhooks/voice/status',
          params,
        ),
      );
      expect(
        verifyTwilioSignature({
          authToken: 'sandbox-twilio-auth-token',
          url: 'http://127.0.0.1:3001/webhooks/voice/status',
          params,
          signature: req.headers?.['X-Twilio-Signature'],
        }),
      ).toBe(true);
    }
  });

  it('signs WhatsApp deliveries so the project’s Meta verifier accepts them', () => {
    const req = whatsappWebhookRequest({
      appSecret: 'app-secret',
      phoneNumberId: '100000000000001',
      displayPhoneNumber: '250788000100',
      sign: nodeSigner,
      random: fixedRandom(),
      now: () => 1_767_268_800_000,
      uid: 'vu1.it7',
    });
    expect(verifyMetaSignature(req.body!, req.headers?.['X-Hub-Signature-256'], 'app-secret')).toEqual({
      ok: true,
    });
    expect(verifyMetaSignature(req.body!, req.headers?.['X-Hub-Signature-256'], 'other')).toEqual({
      ok: false,
      reason: 'mismatch',
    });
    const envelope = JSON.parse(req.body!);
    const message = envelope.entry[0].changes[0].value.messages[0];
    expect(envelope.object).toBe('whatsapp_business_account');
    expect(message).toMatchObject({ id: 'wamid.load.vu1.it7', type: 'text', timestamp: '1767268800' });
    expect(message.from).toMatch(/^2507[234]\d{7}$/);
  });

  it('form-encodes the way Twilio posts (plus signs escaped, spaces as +)', () => {
    expect(formEncode({ To: '+250788000100', Body: 'a b' })).toBe('To=%2B250788000100&Body=a+b');
  });
});
