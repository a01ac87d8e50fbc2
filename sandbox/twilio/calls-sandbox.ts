import { randomBytes } from 'node:crypto';
import { Hono } from 'hono';
import { synthesizeMulawClip } from '../../shared/audio/mulaw.ts';
import { computeTwilioSignature, parseTwilioForm } from '../../shared/webhooks/twilio-signature.ts';
import { type CallerStep, type MediaStreamResult, runMediaStream } from './media-stream-client.ts';
import { parseTwiml, type TwimlVerb } from './twiml-parser.ts';

/** Dev-only defaults, the same the voice bridge uses when TWILIO_* are unset. Never real secrets. */
export const SANDBOX_ACCOUNT_SID = 'AC00000000000000000000000000000000';
export const SANDBOX_AUTH_TOKEN = 'sandbox-twilio-auth-token';

/** Twilio's magic test number for an invalid destination (error 21211), as with its test credentials. */
export const INVALID_NUMBER = '+15005550001';
/** Sandbox numbers (not Twilio's): a voicemail answers, the line is busy, nobody answers. */
export const VOICEMAIL_NUMBER = '+15005559991';
export const BUSY_NUMBER = '+15005559992';
export const NO_ANSWER_NUMBER = '+15005559993';

export interface TwilioSandboxOptions {
  accountSid?: string;
  authToken?: string;
  /** How the sandbox reaches the app's webhooks. */
  fetch?: typeof fetch;
  /** Pause between call stages (queued → initiated → ringing → answered), ms. Default 100. */
  stageDelayMs?: number;
  /** Media Streams pacing: 20 ms per frame is real time. */
  frameIntervalMs?: number;
  /** How long the caller waits for audio back after speaking. Default 4000 ms. */
  listenMs?: number;
  /** What the caller says (μ-law 8 kHz); default {@link defaultCallerClip}. */
  clip?: Uint8Array;
  /** A DTMF digit the caller presses after speaking. */
  dtmf?: string;
  /** What the caller does on the stream instead of "say the clip, press `dtmf`" (barge-in, backchannels). */
  script?: readonly CallerStep[];
  /** Async AMD: how long after the answer the verdict is posted. Default 150 ms. */
  amdDelayMs?: number;
  /** Upper bound on one simulated call, so nothing the app does can hang the sandbox. Default 30 s. */
  maxCallMs?: number;
  /** How long `timeout` and `accept-late` faults hold the Calls.json answer, ms. Default 15000. */
  hangMs?: number;
  log?: (message: string, fields?: Record<string, unknown>) => void;
}

export interface SandboxCallback {
  kind: 'status' | 'answer' | 'action' | 'amd';
  url: string;
  status?: string;
  sequenceNumber?: number;
  httpStatus: number | null;
  error?: string;
}

export interface SandboxCall {
  sid: string;
  accountSid: string;
  to: string;
  from: string;
  url: string;
  statusCallback?: string;
  statusCallbackEvents: string[];
  status: string;
  dateCreated: Date;
  startTime?: Date;
  endTime?: Date;
  duration?: number;
  callbacks: SandboxCallback[];
  /** Every TwiML document the app answered, parsed. */
  twiml: TwimlVerb[][];
  /** What `<Say>` made the caller hear. */
  said: string[];
  stream?: MediaStreamResult;
  errors: string[];
  /** Async answering-machine detection asked for at creation. */
  amd?: { mode: string; callback: string };
  answeredBy?: string;
  /** Set through `POST /Calls/{sid}.json`: TwiML that replaces what runs now, or a hang-up. */
  update?: { twiml: string } | { hangup: true };
  /** Aborted when the call is updated through the API: ends the current TwiML (and its stream). */
  interrupt: AbortController;
}

/**
 * A short "utterance" for the sandbox caller: three tones then a pause long enough for a voice agent's
 * server-side VAD to decide the caller stopped speaking. Synthesized in TS, so no audio file or tool.
 */
export function defaultCallerClip(): Uint8Array {
  return synthesizeMulawClip([
    { frequencyHz: 440, durationMs: 200 },
    { frequencyHz: 660, durationMs: 200 },
    { frequencyHz: 550, durationMs: 200 },
    { frequencyHz: 0, durationMs: 400 },
  ]);
}

/**
 * What Calls.json does instead of answering normally: `server-error` answers 500 (Twilio error 20500) and
 * `unavailable` 503 (20503), creating nothing; `timeout` holds the answer for `hangMs`, then 503, creating
 * nothing; `accept-late` creates the call at once (it rings, its callbacks flow) but holds the 201 for
 * `hangMs`, as a Twilio answering slower than its client waits. `none` clears it.
 */
export type TwilioFaultMode = 'none' | 'server-error' | 'unavailable' | 'timeout' | 'accept-late';
export const TWILIO_FAULT_MODES: readonly TwilioFaultMode[] = [
  'none',
  'server-error',
  'unavailable',
  'timeout',
  'accept-late',
];

export interface TwilioFault {
  mode: TwilioFaultMode;
  /** How many Calls.json requests it applies to; omitted: until cleared. */
  count?: number;
  /** Overrides the sandbox's `hangMs` for this fault. */
  hangMs?: number;
}

const rfc2822 = (date: Date) => date.toUTCString().replace('GMT', '+0000');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const E164 = /^\+[1-9]\d{1,14}$/;

function twilioError(status: number, code: number, message: string) {
  return { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status };
}

function callResource(call: SandboxCall) {
  const uri = `/2010-04-01/Accounts/${call.accountSid}/Calls/${call.sid}.json`;
  return {
    account_sid: call.accountSid,
    annotation: null,
    answered_by: call.answeredBy ?? null,
    api_version: '2010-04-01',
    caller_name: null,
    date_created: rfc2822(call.dateCreated),
    date_updated: rfc2822(new Date()),
    direction: 'outbound-api',
    duration: call.duration === undefined ? null : String(call.duration),
    end_time: call.endTime ? rfc2822(call.endTime) : null,
    forwarded_from: null,
    from: call.from,
    from_formatted: call.from,
    group_sid: null,
    parent_call_sid: null,
    phone_number_sid: null,
    price: null,
    price_unit: 'USD',
    queue_time: '0',
    sid: call.sid,
    start_time: call.startTime ? rfc2822(call.startTime) : null,
    status: call.status,
    subresource_uris: {
      notifications: uri.replace('.json', '/Notifications.json'),
      recordings: uri.replace('.json', '/Recordings.json'),
      streams: uri.replace('.json', '/Streams.json'),
    },
    to: call.to,
    to_formatted: call.to,
    trunk_sid: null,
    uri,
  };
}

/**
 * Twilio Programmable Voice, locally: `POST /2010-04-01/Accounts/{sid}/Calls.json` answers like Twilio
 * and then drives the call as Twilio would — signed status callbacks in order (SequenceNumber from 0),
 * the signed answer webhook, its TwiML executed (`<Say>`, `<Hangup>`, `<Connect><Stream>` as a real
 * Media Streams client playing a μ-law clip and collecting the audio sent back, then `<Connect action>`).
 *
 * Faults: `POST /sandbox/twilio/faults {mode, count?, hangMs?}` (or `setFault`) makes Calls.json fail
 * (see {@link TwilioFaultMode}); `GET` reads the fault and how many requests each mode took. Test hooks:
 * `control.outage` makes the API answer 503; `control.responseDelayMs` slows it down; `waitForCall(sid)`
 * resolves once a call has ended.
 *
 * @example
 * const twilio = createTwilioSandbox({ stageDelayMs: 10, frameIntervalMs: 2 });
 * root.route('/', twilio.app); // POST /2010-04-01/Accounts/:sid/Calls.json
 */
export function createTwilioSandbox(options: TwilioSandboxOptions = {}) {
  const accountSid = options.accountSid ?? SANDBOX_ACCOUNT_SID;
  const authToken = options.authToken ?? SANDBOX_AUTH_TOKEN;
  const doFetch = options.fetch ?? fetch;
  const stageDelayMs = options.stageDelayMs ?? 100;
  const clip = options.clip ?? defaultCallerClip();
  const log = options.log ?? (() => {});
  const calls = new Map<string, SandboxCall>();
  const finished = new Map<string, Promise<SandboxCall>>();
  const control = { outage: false, responseDelayMs: 0 };
  let fault: TwilioFault = { mode: 'none' };
  const faultsTaken: Record<string, number> = {};
  // Held answers, released at once by close() so a fault never outlives the sandbox.
  const holds = new Map<ReturnType<typeof setTimeout>, () => void>();
  let closed = false;
  const expectedAuth = `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString('base64')}`;

  /** Posts a form to the app signed as Twilio signs it; never throws. */
  async function signedPost(
    url: string,
    params: Record<string, string>,
  ): Promise<{ status: number | null; text: string; error?: string }> {
    try {
      const response = await doFetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'x-twilio-signature': computeTwilioSignature(authToken, url, params),
          'i-twilio-idempotency-token': randomBytes(16).toString('hex'),
          'user-agent': 'TwilioProxy/1.1',
        },
        body: new URLSearchParams(params).toString(),
        signal: AbortSignal.timeout(15_000),
      });
      return { status: response.status, text: await response.text() };
    } catch (error) {
      return { status: null, text: '', error: (error as Error).message };
    }
  }

  function baseParams(call: SandboxCall): Record<string, string> {
    return {
      AccountSid: call.accountSid,
      ApiVersion: '2010-04-01',
      CallSid: call.sid,
      CallStatus: call.status,
      Called: call.to,
      Caller: call.from,
      Direction: 'outbound-api',
      From: call.from,
      To: call.to,
    };
  }

  const sequence = new Map<string, number>();
  async function statusCallback(call: SandboxCall, event: string) {
    if (!call.statusCallback) return;
    // Twilio always reports completion; the other events only when asked for.
    if (
      event !== 'completed' &&
      call.statusCallbackEvents.length > 0 &&
      !call.statusCallbackEvents.includes(event)
    ) {
      return;
    }
    const sequenceNumber = sequence.get(call.sid) ?? 0;
    sequence.set(call.sid, sequenceNumber + 1);
    const params: Record<string, string> = {
      ...baseParams(call),
      CallbackSource: 'call-progress-events',
      SequenceNumber: String(sequenceNumber),
      Timestamp: rfc2822(new Date()),
    };
    if (call.status === 'completed') {
      params.CallDuration = String(call.duration ?? 0);
      params.Duration = String(Math.ceil((call.duration ?? 0) / 60));
    }
    const response = await signedPost(call.statusCallback, params);
    call.callbacks.push({
      kind: 'status',
      url: call.statusCallback,
      status: call.status,
      sequenceNumber,
      httpStatus: response.status,
      error: response.error,
    });
  }

  /** Fetches TwiML from `url` and runs it; returns once the call would hang up. */
  async function runTwimlFrom(
    call: SandboxCall,
    url: string,
    kind: 'answer' | 'action',
    depth = 0,
  ): Promise<void> {
    const response = await signedPost(url, baseParams(call));
    call.callbacks.push({ kind, url, httpStatus: response.status, error: response.error });
    if (response.status !== 200) {
      call.errors.push(`${kind} webhook answered ${response.status ?? response.error}: application error`);
      return;
    }
    let verbs: TwimlVerb[];
    try {
      verbs = parseTwiml(response.text);
    } catch (error) {
      call.errors.push(`${kind} webhook: ${(error as Error).message}`);
      return;
    }
    call.twiml.push(verbs);
    for (const verb of verbs) {
      if (closed) return;
      if (call.update) return runUpdate(call);
      if (verb.verb === 'Say') call.said.push(verb.text);
      else if (verb.verb === 'Hangup') return;
      else if (verb.verb === 'Pause') await sleep(Math.min(verb.lengthSeconds * 1000, 2000));
      else if (verb.verb === 'Connect') {
        call.stream = await runMediaStream({
          url: verb.stream.url,
          authToken,
          accountSid: call.accountSid,
          callSid: call.sid,
          streamSid: `MZ${randomBytes(16).toString('hex')}`,
          customParameters: verb.stream.parameters,
          clip,
          frameIntervalMs: options.frameIntervalMs ?? 20,
          listenMs: options.listenMs ?? 4000,
          expectBytes: Math.floor(clip.length / 2),
          dtmf: options.dtmf,
          script: options.script,
          signal: call.interrupt.signal,
        });
        log('media stream ended', {
          callSid: call.sid,
          sentBytes: call.stream.sentBytes,
          receivedBytes: call.stream.receivedBytes,
          endedBy: call.stream.endedBy,
        });
        if (call.update) return runUpdate(call);
        // The caller hung up (we sent `stop`): the call is over. The app closed it: Twilio continues.
        if (call.stream.endedBy === 'caller') return;
        if (verb.action && depth < 3) return runTwimlFrom(call, verb.action, 'action', depth + 1);
      }
    }
  }

  /** The app changed the live call (`POST /Calls/{sid}.json`): run its TwiML, or just hang up. */
  async function runUpdate(call: SandboxCall): Promise<void> {
    const update = call.update;
    if (!update || 'hangup' in update) return;
    let verbs: TwimlVerb[];
    try {
      verbs = parseTwiml(update.twiml);
    } catch (error) {
      call.errors.push(`updated TwiML: ${(error as Error).message}`);
      return;
    }
    call.twiml.push(verbs);
    for (const verb of verbs) {
      if (verb.verb === 'Say') call.said.push(verb.text);
      else if (verb.verb === 'Hangup') return;
    }
  }

  /** Twilio's async AMD verdict, posted while the call goes on. */
  async function machineVerdict(call: SandboxCall) {
    if (!call.amd) return;
    await sleep(options.amdDelayMs ?? 150);
    if (call.status !== 'in-progress') return;
    const machine = call.to === VOICEMAIL_NUMBER;
    call.answeredBy = machine
      ? call.amd.mode === 'DetectMessageEnd'
        ? 'machine_end_beep'
        : 'machine_start'
      : 'human';
    const params = {
      AccountSid: call.accountSid,
      CallSid: call.sid,
      AnsweredBy: call.answeredBy,
      MachineDetectionDuration: String(options.amdDelayMs ?? 150),
    };
    const response = await signedPost(call.amd.callback, params);
    call.callbacks.push({
      kind: 'amd',
      url: call.amd.callback,
      httpStatus: response.status,
      error: response.error,
    });
  }

  async function drive(call: SandboxCall): Promise<void> {
    await sleep(stageDelayMs);
    call.status = 'initiated';
    await statusCallback(call, 'initiated');
    await sleep(stageDelayMs);
    call.status = 'ringing';
    await statusCallback(call, 'ringing');
    await sleep(stageDelayMs);
    if (call.to === BUSY_NUMBER || call.to === NO_ANSWER_NUMBER) {
      call.status = call.to === BUSY_NUMBER ? 'busy' : 'no-answer';
      call.duration = 0;
      await statusCallback(call, 'completed');
      return;
    }
    call.status = 'in-progress';
    call.startTime = new Date();
    // As on Twilio: the answered callback and the TwiML fetch happen together, AMD runs beside them.
    await Promise.all([
      statusCallback(call, 'answered'),
      runTwimlFrom(call, call.url, 'answer'),
      machineVerdict(call),
    ]);
    call.endTime = new Date();
    call.duration = Math.max(1, Math.round((call.endTime.getTime() - call.startTime.getTime()) / 1000));
    call.status = 'completed';
    await statusCallback(call, 'completed');
  }

  function start(call: SandboxCall) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const bounded = Promise.race([
      drive(call).catch((error: unknown) => {
        call.errors.push(`sandbox: ${(error as Error).message}`);
      }),
      new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          call.errors.push(`sandbox: call exceeded ${options.maxCallMs ?? 30_000} ms`);
          resolve();
        }, options.maxCallMs ?? 30_000);
      }),
    ]).then(() => {
      clearTimeout(timer);
      log('call ended', { callSid: call.sid, status: call.status, errors: call.errors });
      return call;
    });
    finished.set(call.sid, bounded);
  }

  /** The fault this request meets (spending one of its `count`), or none. */
  function takeFault(): TwilioFault {
    const taken = fault;
    if (taken.mode === 'none') return taken;
    faultsTaken[taken.mode] = (faultsTaken[taken.mode] ?? 0) + 1;
    if (taken.count !== undefined) {
      fault = { ...taken, count: taken.count - 1 };
      if (fault.count! <= 0) fault = { mode: 'none' };
    }
    return taken;
  }

  function hold(ms: number): Promise<void> {
    if (closed) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        holds.delete(timer);
        resolve();
      }, ms);
      holds.set(timer, resolve);
    });
  }

  function setFault(next: TwilioFault) {
    fault = next.mode === 'none' ? { mode: 'none' } : { ...next };
  }

  const app = new Hono();

  app.post('/sandbox/twilio/faults', async (c) => {
    const body = (await c.req.json().catch(() => null)) as TwilioFault | null;
    if (!body || !TWILIO_FAULT_MODES.includes(body.mode))
      return c.json({ error: `mode must be one of ${TWILIO_FAULT_MODES.join(', ')}` }, 400);
    setFault({ mode: body.mode, count: body.count, hangMs: body.hangMs });
    log('fault set', { fault });
    return c.json({ fault, taken: faultsTaken });
  });
  app.get('/sandbox/twilio/faults', (c) => c.json({ fault, taken: faultsTaken }));

  app.post('/2010-04-01/Accounts/:accountSid/Calls.json', async (c) => {
    if (control.responseDelayMs > 0) await sleep(control.responseDelayMs);
    if (control.outage) return c.json(twilioError(503, 20503, 'Service Unavailable'), 503);
    const met = c.req.header('authorization') === expectedAuth ? takeFault() : { mode: 'none' as const };
    const hangMs = met.hangMs ?? options.hangMs ?? 15_000;
    if (met.mode === 'server-error') return c.json(twilioError(500, 20500, 'Internal Server Error'), 500);
    if (met.mode === 'unavailable') return c.json(twilioError(503, 20503, 'Service Unavailable'), 503);
    if (met.mode === 'timeout') {
      await hold(hangMs);
      return c.json(twilioError(503, 20503, 'Service Unavailable'), 503);
    }
    if (c.req.header('authorization') !== expectedAuth) {
      return c.json(twilioError(401, 20003, 'Authenticate'), 401, {
        'WWW-Authenticate': 'Basic realm="Twilio API"',
      });
    }
    if (c.req.param('accountSid') !== accountSid) {
      return c.json(twilioError(404, 20404, 'The requested resource was not found'), 404);
    }
    const form = parseTwilioForm(await c.req.text());
    const first = (name: string) => {
      const value = form[name];
      return typeof value === 'string' ? value : value?.[0];
    };
    const to = first('To');
    const from = first('From');
    const url = first('Url');
    if (!to) return c.json(twilioError(400, 21201, "No 'To' number is specified"), 400);
    if (!from) return c.json(twilioError(400, 21213, "No 'From' number is specified"), 400);
    if (!url) return c.json(twilioError(400, 21205, 'Url parameter is required'), 400);
    if (!E164.test(to) || to === INVALID_NUMBER) {
      return c.json(twilioError(400, 21211, `Invalid 'To' Phone Number: ${to}`), 400);
    }
    if (!E164.test(from)) return c.json(twilioError(400, 21212, `Invalid 'From' Phone Number: ${from}`), 400);
    const events = form.StatusCallbackEvent;
    const call: SandboxCall = {
      sid: `CA${randomBytes(16).toString('hex')}`,
      accountSid,
      to,
      from,
      url,
      statusCallback: first('StatusCallback'),
      statusCallbackEvents: (typeof events === 'string' ? [events] : (events ?? []))
        .flatMap((e) => e.split(/\s+/))
        .filter(Boolean),
      status: 'queued',
      dateCreated: new Date(),
      callbacks: [],
      twiml: [],
      said: [],
      errors: [],
      interrupt: new AbortController(),
      amd:
        first('MachineDetection') && first('AsyncAmd') === 'true' && first('AsyncAmdStatusCallback')
          ? { mode: first('MachineDetection')!, callback: first('AsyncAmdStatusCallback')! }
          : undefined,
    };
    calls.set(call.sid, call);
    log('call created', { callSid: call.sid, to });
    start(call);
    // The call is live; only its answer is late (the client may have given up on it by now).
    if (met.mode === 'accept-late') await hold(hangMs);
    return c.json(callResource(call), 201);
  });

  // Update a live call: `Twiml` replaces what it runs now, `Status=completed` hangs it up.
  app.post('/2010-04-01/Accounts/:accountSid/Calls/:file', async (c) => {
    if (c.req.header('authorization') !== expectedAuth)
      return c.json(twilioError(401, 20003, 'Authenticate'), 401);
    const call = calls.get(c.req.param('file').replace(/\.json$/, ''));
    if (!call) return c.json(twilioError(404, 20404, 'The requested resource was not found'), 404);
    const form = parseTwilioForm(await c.req.text());
    const twiml = typeof form.Twiml === 'string' ? form.Twiml : undefined;
    const status = typeof form.Status === 'string' ? form.Status : undefined;
    if (call.status !== 'in-progress' || call.update) {
      return c.json(twilioError(400, 21220, 'Call is not in-progress. Cannot redirect.'), 400);
    }
    if (twiml) call.update = { twiml };
    else if (status === 'completed') call.update = { hangup: true };
    else return c.json(twilioError(400, 21218, 'Invalid update: give Twiml or Status=completed'), 400);
    call.interrupt.abort();
    return c.json(callResource(call));
  });

  app.get('/2010-04-01/Accounts/:accountSid/Calls/:file', (c) => {
    if (c.req.header('authorization') !== expectedAuth)
      return c.json(twilioError(401, 20003, 'Authenticate'), 401);
    const call = calls.get(c.req.param('file').replace(/\.json$/, ''));
    if (!call) return c.json(twilioError(404, 20404, 'The requested resource was not found'), 404);
    return c.json(callResource(call));
  });

  /** Not Twilio: what the sandbox saw, for the demo and for debugging. */
  app.get('/sandbox/twilio/calls', (c) =>
    c.json(
      [...calls.values()].map((call) => ({
        ...callResource(call),
        callbacks: call.callbacks,
        said: call.said,
        errors: call.errors,
        stream: call.stream && { ...call.stream, receivedAudio: undefined },
      })),
    ),
  );

  return {
    app,
    accountSid,
    authToken,
    control,
    setFault,
    /** The fault in force (`none` when cleared or spent). */
    get fault(): TwilioFault {
      return fault;
    },
    calls: calls as ReadonlyMap<string, SandboxCall>,
    /** Resolves once the call has ended (or hit `maxCallMs`). */
    async waitForCall(sid: string): Promise<SandboxCall> {
      const done = finished.get(sid);
      if (!done) throw new Error(`sandbox has no call ${sid}`);
      return done;
    },
    /** Waits for every call in flight, then refuses to start new stages. */
    async close(): Promise<void> {
      for (const [timer, release] of holds) {
        clearTimeout(timer);
        release();
      }
      holds.clear();
      await Promise.all(finished.values());
      closed = true;
    },
  };
}

export type TwilioSandbox = ReturnType<typeof createTwilioSandbox>;
