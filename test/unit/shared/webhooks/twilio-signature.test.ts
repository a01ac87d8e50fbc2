import { describe, expect, it } from 'vitest';
import {
  computeTwilioSignature,
  parseTwilioForm,
  twilioUrlVariants,
  verifyTwilioBodySignature,
  verifyTwilioSignature,
} from '../../../../shared/webhooks/twilio-signature.ts';

// Twilio's published request-validator vectors, from twilio-node `spec/validation.spec.js` (the same
// values appear in twilio-php `tests/Twilio/Unit/Security/RequestValidatorTest.php` and twilio-csharp
// `RequestValidatorTest.cs`), and the port / quote cases from twilio-node `spec/unit/webhooks/webhooks.spec.js`.
const authToken = '12345';
const requestUrl = 'https://mycompany.com/myapp.php?foo=1&bar=2';
const defaultParams = {
  CallSid: 'CA1234567890ABCDE',
  Caller: '+14158675309',
  Digits: '1234',
  From: '+14158675309',
  To: '+18005551212',
};
const defaultSignature = 'RSOYDt4T1cUTdK1PDd93/VVr8B8=';
const body = '{"property": "value", "boolean": true}';
const bodySha = '0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620';

const verify = (signature: string | undefined, url: string, params: Record<string, string | string[]>) =>
  verifyTwilioSignature({ authToken, signature, url, params });

describe('Twilio request validator vectors (twilio-node spec/validation.spec.js)', () => {
  it('computes the documented signature', () => {
    expect(computeTwilioSignature(authToken, requestUrl, defaultParams)).toBe(defaultSignature);
  });

  it('succeeds with the correct signature', () => {
    expect(verify(defaultSignature, requestUrl, defaultParams)).toBe(true);
  });

  it('fails when given the wrong signature', () => {
    expect(verify('WRONG_SIGNATURE', requestUrl, defaultParams)).toBe(false);
  });

  it('fails when the signature is undefined or empty (missing header)', () => {
    expect(verify(undefined, requestUrl, defaultParams)).toBe(false);
    expect(verify('', requestUrl, defaultParams)).toBe(false);
  });

  it('fails when a parameter is tampered with', () => {
    expect(verify(defaultSignature, requestUrl, { ...defaultParams, Digits: '9999' })).toBe(false);
    expect(verify(defaultSignature, requestUrl, { ...defaultParams, Extra: '' })).toBe(false);
  });

  it('fails for a different URL', () => {
    expect(verify(defaultSignature, `${requestUrl}&somethingUnexpected=true`, defaultParams)).toBe(false);
    expect(verify(defaultSignature, requestUrl.replace('https', 'http'), defaultParams)).toBe(false);
    expect(verify(defaultSignature, requestUrl.replace('mycompany', 'othercompany'), defaultParams)).toBe(
      false,
    );
  });

  it('fails with the wrong auth token', () => {
    expect(
      verifyTwilioSignature({
        authToken: 'other',
        url: requestUrl,
        params: defaultParams,
        signature: defaultSignature,
      }),
    ).toBe(false);
  });

  it('validates https urls with ports by stripping them', () => {
    expect(verify(defaultSignature, requestUrl.replace('.com', '.com:1234'), defaultParams)).toBe(true);
  });

  it('validates http urls with ports', () => {
    const url = requestUrl.replace('.com', '.com:1234').replace('https', 'http');
    expect(verify('Zmvh+3yNM1Phv2jhDCwEM3q5ebU=', url, defaultParams)).toBe(true);
  });

  it('validates https urls without ports by adding standard port 443', () => {
    expect(verify('kvajT1Ptam85bY51eRf/AJRuM3w=', requestUrl, defaultParams)).toBe(true);
  });

  it('validates http urls without ports by adding standard port 80', () => {
    expect(verify('0ZXoZLH/DfblKGATFgpif+LLRf4=', requestUrl.replace('https', 'http'), defaultParams)).toBe(
      true,
    );
  });

  it('validates urls with credentials, with just a username, and with credentials plus port', () => {
    const withCreds = 'https://user:pass@mycompany.com/myapp.php?foo=1&bar=2';
    expect(verify('CukzLTc1tT5dXEDIHm/tKBanW10=', withCreds, defaultParams)).toBe(true);
    expect(
      verify(
        '2YRLlVAflCqxaNicjMpJcSTgzSs=',
        'https://user@mycompany.com/myapp.php?foo=1&bar=2',
        defaultParams,
      ),
    ).toBe(true);
    expect(verify('ZQFR1PTIZXF2MXB8ZnKCvnnA+rI=', withCreds, defaultParams)).toBe(true);
  });

  it('validates urls with special characters', () => {
    expect(verify('dsq4Ehbj6cs+KdTkpF5sSSplOWw=', `${requestUrl}&Body=It's+amazing`, defaultParams)).toBe(
      true,
    );
  });

  it('validates an array parameter regardless of value order', () => {
    const signature = '83O6e2vORAoJHUNzJjDWN1jz+BA=';
    expect(
      verify(signature, requestUrl, { 'MessagingBinding.Address': ['+1325xxxxxxx', '+1415xxxxxxx'] }),
    ).toBe(true);
    expect(
      verify(signature, requestUrl, { 'MessagingBinding.Address': ['+1415xxxxxxx', '+1325xxxxxxx'] }),
    ).toBe(true);
  });

  it('validates multiple params and repeated values', () => {
    const params = { Sid: 'CA123', SidAccount: 'AC123', Digits: ['5678', '1234', '1234'] };
    expect(verify('IK+Dwps556ElfBT0I3Rgjkr1wJU=', requestUrl, params)).toBe(true);
  });

  it('validates the request body hash (bodySHA256)', () => {
    const url = `${requestUrl}&bodySHA256=${bodySha}`;
    expect(
      verifyTwilioBodySignature({ authToken, signature: 'a9nBmqA0ju/hNViExpshrM61xv4=', url, body }),
    ).toBe(true);
    expect(
      verifyTwilioBodySignature({
        authToken,
        signature: 'Ldidvp12m26NI7eqEvxnEpkd9Hc=',
        url: `${requestUrl}&bodySHA256=44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a`,
        body: '{}',
      }),
    ).toBe(true);
    const shortUrl = `https://mycompany.com/myapp.php?bodySHA256=${bodySha}`;
    expect(
      verifyTwilioBodySignature({
        authToken,
        signature: 'y77kIzt2vzLz71DgmJGsen2scGs=',
        url: shortUrl,
        body,
      }),
    ).toBe(true);
  });

  it('fails the body check with a wrong hash or without bodySHA256', () => {
    const url = `${requestUrl}&bodySHA256=${bodySha}`;
    const signature = 'a9nBmqA0ju/hNViExpshrM61xv4=';
    expect(verifyTwilioBodySignature({ authToken, signature, url: url.slice(0, -1), body })).toBe(false);
    expect(verifyTwilioBodySignature({ authToken, signature, url, body: `${body} ` })).toBe(false);
    expect(verifyTwilioBodySignature({ authToken, signature: defaultSignature, url: requestUrl, body })).toBe(
      false,
    );
  });
});

describe('port and quote variants (twilio-node spec/unit/webhooks/webhooks.spec.js)', () => {
  const token = 's3cr3t';
  const cases: Array<[string, string, boolean]> = [
    ['https://example.com/path?test=param', 'https://example.com/path?test=param2', false],
    ['https://example.com:443/path?test=param', 'https://example.com:443/path?test=param', true],
    ['https://example.com:443/path?test=param', 'https://example.com/path?test=param', true],
    ['https://example.com/path?test=param', 'https://example.com/path?test=param', true],
    ['https://example.com/path?test=param', 'https://example.com:443/path?test=param', true],
    ["https://example.com/path?test=param'WithQuote", "https://example.com/path?test=param'WithQuote", true],
    [
      "https://example.com/path?test=param'WithQuote",
      'https://example.com/path?test=param%27WithQuote',
      true,
    ],
    [
      'https://example.com/path?test=param%27WithQuote',
      "https://example.com/path?test=param'WithQuote",
      true,
    ],
    [
      'https://example.com/path?test=param%27WithQuote',
      'https://example.com/path?test=param%27WithQuote',
      true,
    ],
  ];
  it.each(cases)('signed %s, validated at %s → %s', (serverUrl, targetUrl, expected) => {
    const signature = computeTwilioSignature(token, serverUrl, {});
    expect(verifyTwilioSignature({ authToken: token, url: targetUrl, signature })).toBe(expected);
  });

  it('covers wss:// Media Streams URLs like https', () => {
    expect(twilioUrlVariants('wss://voice.example.com/media/abc')).toEqual([
      'wss://voice.example.com/media/abc',
      'wss://voice.example.com:443/media/abc',
    ]);
  });
});

describe('parseTwilioForm', () => {
  it('keeps repeated names as arrays and decodes values', () => {
    expect(parseTwilioForm('To=%2B18005551212&Digits=1&Digits=2&Digits=3&Body=a+b')).toEqual({
      To: '+18005551212',
      Digits: ['1', '2', '3'],
      Body: 'a b',
    });
  });
});
