import { DependencyError } from '../../shared/resilience/index.ts';

export interface TwilioClientConfig {
  /** `https://api.twilio.com`, or the sandbox. */
  apiUrl: string;
  accountSid: string;
  authToken: string;
  fetch?: typeof fetch;
  /** Hard cap on one request, beyond the breaker's own timeout, so no socket outlives its caller. */
  requestTimeoutMs?: number;
}

export interface CreateCallInput {
  to: string;
  from: string;
  /** Our answer webhook: Twilio fetches TwiML from it when the callee picks up. */
  url: string;
  statusCallback: string;
  statusCallbackEvents: readonly string[];
  /** Async answering-machine detection: Twilio posts `AnsweredBy` to `callbackUrl` while the call goes on. */
  machineDetection?: { mode: 'Enable' | 'DetectMessageEnd'; callbackUrl: string };
}

/** A live call changed: new TwiML to run now, or hang it up. */
export type UpdateCallInput = { twiml: string } | { status: 'completed' };

export interface TwilioCallResource {
  sid: string;
  status: string;
}

interface TwilioErrorBody {
  code?: number;
  message?: string;
  more_info?: string;
  status?: number;
}

/**
 * The Twilio REST calls the voice bridge makes: create a call, update a live one. Failures become DependencyErrors,
 * so the breaker counts an outage (network, 5xx, 429) but not a request Twilio rejected (4xx).
 *
 * @example
 * const twilio = createTwilioClient({ apiUrl: 'https://api.twilio.com', accountSid, authToken });
 * const call = await twilio.createCall({ to, from, url, statusCallback, statusCallbackEvents: ['initiated'] });
 */
export function createTwilioClient(config: TwilioClientConfig) {
  const doFetch = config.fetch ?? fetch;
  const base = config.apiUrl.replace(/\/+$/, '');
  const authorization = `Basic ${btoa(`${config.accountSid}:${config.authToken}`)}`;
  const callsUrl = `${base}/2010-04-01/Accounts/${encodeURIComponent(config.accountSid)}/Calls`;

  return {
    async createCall(input: CreateCallInput): Promise<TwilioCallResource> {
      const form = new URLSearchParams({
        To: input.to,
        From: input.from,
        Url: input.url,
        Method: 'POST',
        StatusCallback: input.statusCallback,
        StatusCallbackMethod: 'POST',
      });
      // Twilio takes a list parameter as the name repeated.
      for (const event of input.statusCallbackEvents) form.append('StatusCallbackEvent', event);
      if (input.machineDetection) {
        form.set('MachineDetection', input.machineDetection.mode);
        form.set('AsyncAmd', 'true');
        form.set('AsyncAmdStatusCallback', input.machineDetection.callbackUrl);
        form.set('AsyncAmdStatusCallbackMethod', 'POST');
      }
      return post(`${callsUrl}.json`, form);
    },

    /** Redirects a live call to new TwiML, or ends it (`POST /Calls/{sid}.json`). */
    async updateCall(callSid: string, input: UpdateCallInput): Promise<TwilioCallResource> {
      const form = new URLSearchParams('twiml' in input ? { Twiml: input.twiml } : { Status: input.status });
      return post(`${callsUrl}/${encodeURIComponent(callSid)}.json`, form);
    },
  };

  /** One form POST to the Calls resource; failures become DependencyErrors (4xx not retryable). */
  async function post(url: string, form: URLSearchParams): Promise<TwilioCallResource> {
    let response: Response;
    try {
      response = await doFetch(url, {
        method: 'POST',
        headers: {
          authorization,
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body: form.toString(),
        signal: AbortSignal.timeout(config.requestTimeoutMs ?? 10_000),
      });
    } catch (error) {
      const code =
        (error as { cause?: { code?: string }; name?: string }).cause?.code ?? (error as Error).name;
      throw new DependencyError(`twilio unreachable: ${(error as Error).message}`, { code, cause: error });
    }
    const text = await response.text();
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : {};
    } catch {
      body = {};
    }
    if (!response.ok) {
      const err = body as TwilioErrorBody;
      throw new DependencyError(`twilio answered ${response.status}: ${err.message ?? 'no message'}`, {
        status: response.status,
        code: err.code,
      });
    }
    const call = body as Partial<TwilioCallResource>;
    if (typeof call.sid !== 'string' || !call.sid) {
      throw new DependencyError('twilio answered without a call sid', { status: response.status });
    }
    return { sid: call.sid, status: typeof call.status === 'string' ? call.status : 'queued' };
  }
}

export type TwilioClient = ReturnType<typeof createTwilioClient>;
