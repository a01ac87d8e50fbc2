import { createHmac } from 'node:crypto';
import { type Dispatcher, FormData, request } from 'undici';
import type { FlowOp, LoadRequest, LoadResponse, Signer } from '../scenarios/flows.js';
import { isAbort, pause } from './executor.ts';
import type { MetricRegistry, Tags } from './metrics.ts';

/** HMACs through node:crypto; k6 scripts use k6/crypto for the same two. */
export const nodeSigner: Signer = {
  hmacSha256Hex: (secret, data) => createHmac('sha256', secret).update(data, 'utf8').digest('hex'),
  hmacSha1Base64: (secret, data) => createHmac('sha1', secret).update(data, 'utf8').digest('base64'),
};

/** Pass/fail counts per check name, as k6's `root_group.checks` lists them. */
export class CheckTally {
  readonly #counts = new Map<string, { passes: number; fails: number }>();

  record(name: string, ok: boolean): void {
    const entry = this.#counts.get(name) ?? { passes: 0, fails: 0 };
    if (ok) entry.passes++;
    else entry.fails++;
    this.#counts.set(name, entry);
  }

  list(): { name: string; passes: number; fails: number }[] {
    return [...this.#counts].map(([name, c]) => ({ name, ...c }));
  }
}

export interface FlowDriverOptions {
  baseUrls: Readonly<Record<string, string>>;
  metrics: MetricRegistry;
  checks: CheckTally;
  dispatcher: Dispatcher;
  timeoutMs: number;
}

/**
 * Executes the shared flows (load/scenarios/flows.js) with undici, recording what k6 records for the
 * same script: `http_reqs`, `http_req_duration` (request sent → body read), `http_req_failed`
 * (status outside the request's expected statuses), `checks`, and the custom `errors` rate (one
 * sample per checked response: did any check fail).
 */
export class FlowDriver {
  readonly #options: FlowDriverOptions;

  constructor(options: FlowDriverOptions) {
    this.#options = options;
  }

  /**
   * Runs a flow to its end. `tags` is read at each operation, so a request is tagged with the stage
   * it was sent in even when its iteration started in the previous one.
   */
  async run<T>(flow: Generator<FlowOp, T, unknown>, tags: () => Tags, signal: AbortSignal): Promise<T> {
    let step = flow.next();
    while (!step.done) {
      const op = step.value;
      let result: unknown;
      switch (op.op) {
        case 'http':
          result = await this.send(op.request, tags(), signal);
          break;
        case 'sleep':
          await pause(op.seconds * 1000, signal);
          if (signal.aborted) throw new DOMException('iteration interrupted', 'AbortError');
          break;
        case 'metric':
          this.#options.metrics.add(op.name, op.value, tags());
          break;
        case 'check':
          this.#check(op.name, op.ok, tags());
          this.#options.metrics.add('errors', op.ok ? 0 : 1, tags());
          break;
      }
      step = flow.next(result);
    }
    return step.value;
  }

  async send(req: LoadRequest, baseTags: Tags, signal: AbortSignal): Promise<LoadResponse> {
    const { metrics, dispatcher, timeoutMs } = this.#options;
    const url = this.#options.baseUrls[req.service] + req.path;
    const headers: Record<string, string> = { ...(req.headers ?? {}) };
    let body: string | FormData | undefined = req.body;
    if (req.multipart) {
      const form = new FormData();
      const bytes = Buffer.from(req.multipart.base64, 'base64');
      form.append(
        req.multipart.field,
        new Blob([bytes], { type: req.multipart.contentType }),
        req.multipart.filename,
      );
      body = form;
    }
    const started = performance.now();
    let response: LoadResponse;
    try {
      const res = await request(url, {
        method: req.method as Dispatcher.HttpMethod,
        headers,
        body,
        dispatcher,
        signal,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      const text = await res.body.text();
      response = {
        status: res.statusCode,
        body: text,
        headers: res.headers as Record<string, string | string[]>,
      };
    } catch (error) {
      if (signal.aborted) throw error;
      if (isAbort(error)) throw error;
      // Connection refused, reset or timed out: k6 reports status 0 and counts the request as failed.
      response = {
        status: 0,
        body: '',
        headers: {},
        error: error instanceof Error ? error.message : String(error),
      };
    }
    const duration = performance.now() - started;
    const expected = req.expected.includes(response.status);
    const tags: Tags = {
      ...baseTags,
      service: req.service,
      name: req.name,
      method: req.method,
      status: String(response.status),
      expected_response: String(expected),
    };
    metrics.add('http_reqs', 1, tags);
    metrics.add('http_req_duration', duration, tags);
    metrics.add('http_req_failed', expected ? 0 : 1, tags);
    if (req.checks) {
      let allOk = true;
      for (const [name, predicate] of Object.entries(req.checks)) {
        let ok: boolean;
        try {
          ok = Boolean(predicate(response));
        } catch {
          ok = false;
        }
        this.#check(name, ok, tags);
        if (!ok) allOk = false;
      }
      metrics.add('errors', allOk ? 0 : 1, tags);
    }
    return response;
  }

  #check(name: string, ok: boolean, tags: Tags): void {
    this.#options.metrics.add('checks', ok ? 1 : 0, { ...tags, check: name });
    this.#options.checks.record(name, ok);
  }
}
