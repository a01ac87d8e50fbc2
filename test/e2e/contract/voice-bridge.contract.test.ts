import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OpenApiDocument } from '../../../shared/http/index.ts';
import { computeTwilioSignature } from '../../../shared/webhooks/twilio-signature.ts';
import {
  appOperations,
  type Contract,
  createContract,
  documentedOperations,
  validateOpenApiDocument,
} from '../../support/openapi-contract.ts';
import { startVoiceHarness, type VoiceHarness } from '../voice-bridge/harness.ts';
import { checkKitRoutes } from './kit-routes.ts';

const CALL_SID = `CA${'ab'.repeat(16)}`;

describe('voice-bridge contract: every documented operation, answered as documented', () => {
  let h: VoiceHarness;
  let document: OpenApiDocument;
  let contract: Contract;

  beforeAll(async () => {
    h = await startVoiceHarness();
    document = (await (await fetch(`${h.url}/openapi.json`)).json()) as OpenApiDocument;
    contract = createContract(document);
  });
  afterAll(() => h?.close());

  /** A form post signed as Twilio signs it (our public URL + path + query, sorted params). */
  const twilioPost = (pathAndQuery: string, params: Record<string, string>, signed = true) =>
    fetch(`${h.url}${pathAndQuery}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        ...(signed
          ? {
              'x-twilio-signature': computeTwilioSignature(
                h.twilio.authToken,
                `${h.url}${pathAndQuery}`,
                params,
              ),
            }
          : {}),
      },
      body: new URLSearchParams(params).toString(),
    });

  it('is a valid OpenAPI 3.1 document that lists exactly the app’s routes', async () => {
    await validateOpenApiDocument(document);
    expect(document.openapi).toBe('3.1.0');
    expect(documentedOperations(document)).toEqual(appOperations(h.app));
  });

  it('serves the kit routes as documented', async () => {
    await checkKitRoutes(h.url, contract);
  });

  it('answers the calls API as documented', async () => {
    const unauthorized = await fetch(`${h.url}/calls/outbound`, { method: 'POST', body: '{}' });
    await contract.check('POST', '/calls/outbound', unauthorized);
    const invalid = await h.placeCall({ to: 'not a number' });
    expect(invalid.status).toBe(400);
    await contract.check('POST', '/calls/outbound', invalid);

    // A whole call through the Twilio sandbox and the echo agent (webhooks and Media Streams included).
    const placed = await h.placeCall(
      { to: '+14155550123', metadata: { lead: 1 } },
      { 'idempotency-key': 'contract-1' },
    );
    expect(placed.status).toBe(201);
    const call = (await contract.check('POST', '/calls/outbound', placed)).body as { id: string };
    const replay = await h.placeCall(
      { to: '+14155550123', metadata: { lead: 1 } },
      { 'idempotency-key': 'contract-1' },
    );
    expect(replay.status).toBe(200);
    await contract.check('POST', '/calls/outbound', replay);
    const reused = await h.placeCall({ to: '+14155550124' }, { 'idempotency-key': 'contract-1' });
    expect(reused.status).toBe(422);
    await contract.check('POST', '/calls/outbound', reused);

    // The per-destination limit (3 an hour here): the fourth call to one number is a 429 with Retry-After.
    for (const expected of [201, 201, 201, 429]) {
      const response = await h.placeCall({ to: '+14155550125' });
      expect(response.status).toBe(expected);
      await contract.check('POST', '/calls/outbound', response);
    }

    const detail = await h.request(`/calls/${call.id}`);
    expect(detail.status).toBe(200);
    await contract.check('GET', '/calls/{id}', detail);
    await contract.check('GET', '/calls/{id}', await h.request(`/calls/${crypto.randomUUID()}`));
    await contract.check('GET', '/calls/{id}', await h.request('/calls/nope'));

    const transcript = await h.request(`/calls/${call.id}/transcript`);
    expect(transcript.status).toBe(200);
    await contract.check('GET', '/calls/{id}/transcript', transcript);
    const vtt = await h.request(`/calls/${call.id}/transcript?format=vtt`);
    expect(vtt.status).toBe(200);
    expect((await contract.check('GET', '/calls/{id}/transcript', vtt)).body).toMatch(/^WEBVTT/);
    await contract.check(
      'GET',
      '/calls/{id}/transcript',
      await h.request(`/calls/${crypto.randomUUID()}/transcript`),
    );

    const page = await h.request('/calls?direction=outbound&limit=1');
    expect(page.status).toBe(200);
    const listed = (await contract.check('GET', '/calls', page)).body as { items: { id: string }[] };
    expect(listed.items).toHaveLength(1);
    await contract.check('GET', '/calls', await h.request('/calls?limit=0'));
    await h.streamsClosed();
  });

  it('answers Twilio’s webhooks as documented', async () => {
    const status = await twilioPost('/webhooks/voice/status', {
      CallSid: CALL_SID,
      CallStatus: 'ringing',
      SequenceNumber: '0',
    });
    expect(status.status).toBe(200);
    await contract.check('POST', '/webhooks/voice/status', status);
    const unsigned = await twilioPost(
      '/webhooks/voice/status',
      { CallSid: CALL_SID, CallStatus: 'ringing' },
      false,
    );
    expect(unsigned.status).toBe(403);
    await contract.check('POST', '/webhooks/voice/status', unsigned);
    const invalid = await twilioPost('/webhooks/voice/status', { CallSid: 'nope', CallStatus: 'ringing' });
    expect(invalid.status).toBe(400);
    await contract.check('POST', '/webhooks/voice/status', invalid);

    const answer = await twilioPost('/webhooks/voice/answer', {
      CallSid: CALL_SID,
      From: '+14155550999',
      To: '+15005550006',
      CallStatus: 'ringing',
    });
    expect(answer.status).toBe(200);
    const twiml = (await contract.check('POST', '/webhooks/voice/answer', answer)).body as string;
    expect(twiml).toContain('<Stream');
    const callId = /callId=([0-9a-f-]{36})/.exec(twiml)![1];
    const streamPath = /url="wss?:\/\/[^/"]+(\/media\/[^"]+)"/.exec(twiml)![1];

    const amd = await twilioPost(`/webhooks/voice/amd?callId=${callId}&onMachine=connect_agent`, {
      CallSid: CALL_SID,
      AnsweredBy: 'human',
    });
    expect(amd.status).toBe(200);
    await contract.check('POST', '/webhooks/voice/amd', amd);

    const ended = await twilioPost(`/webhooks/voice/stream-ended?callId=${callId}`, { CallSid: CALL_SID });
    expect(ended.status).toBe(200);
    await contract.check('POST', '/webhooks/voice/stream-ended', ended);

    // The Media Streams endpoint: 101 is the WebSocket (the sandbox call above used it); a signed plain
    // GET with our token is 426, an unsigned one 403.
    const wsUrl = `${h.url.replace(/^http/, 'ws')}${streamPath}`;
    const plain = await fetch(`${h.url}${streamPath}`, {
      headers: { 'x-twilio-signature': computeTwilioSignature(h.twilio.authToken, wsUrl, {}) },
    });
    expect(plain.status).toBe(426);
    await contract.check('GET', '/media/{callId}/{token}', plain);
    await contract.check('GET', '/media/{callId}/{token}', await fetch(`${h.url}${streamPath}`));
  });

  it('leaves no documented operation uncalled', () => {
    expect(contract.uncalled()).toEqual([]);
    // Every operation but the WebSocket answered at least once with success (its 101 is not a fetch).
    expect(contract.neverSucceeded()).toEqual(['GET /media/{callId}/{token}']);
  });
});
