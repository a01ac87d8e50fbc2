import type { ServiceTarget } from './config.ts';

/** A service's answer: JSON (or problem+json) with its status, or a network failure as a 502-like problem. */
export interface ServiceAnswer {
  status: number;
  contentType: string;
  body: unknown;
}

export type ServiceClient = (path: string, init?: RequestInit) => Promise<ServiceAnswer>;

/**
 * Calls one service with its own API key, server-side: the browser only ever holds the operator's session.
 *
 * @example
 * const voice = serviceClient(settings.services['voice-bridge']);
 * const { status, body } = await voice('/calls/123');
 */
export function serviceClient(target: ServiceTarget, timeoutMs = 5000): ServiceClient {
  return async function callService(path, init = {}) {
    try {
      const response = await fetch(`${target.baseUrl}${path}`, {
        ...init,
        headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${target.apiKey}` },
        signal: init.signal ?? AbortSignal.timeout(timeoutMs),
      });
      const contentType = response.headers.get('content-type') ?? '';
      const text = await response.text();
      const body = contentType.includes('json') && text ? JSON.parse(text) : text;
      return { status: response.status, contentType, body };
    } catch (error) {
      return {
        status: 502,
        contentType: 'application/problem+json',
        body: {
          type: 'about:blank',
          title: 'Bad Gateway',
          status: 502,
          detail: `the service did not answer: ${error instanceof Error ? error.message : String(error)}`,
        },
      };
    }
  };
}
