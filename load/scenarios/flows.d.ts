export interface Signer {
  hmacSha256Hex(secret: string, data: string): string;
  hmacSha1Base64(secret: string, data: string): string;
}

/** A response as the checks see it: k6's Response and the Node runner's both have this shape. */
export interface LoadResponse {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
  error?: string;
}

export interface LoadRequest {
  service: string;
  method: string;
  path: string;
  /** The `name` tag: the route, not the URL, so ids do not multiply sub-metrics. */
  name: string;
  headers?: Record<string, string>;
  body?: string;
  multipart?: { field: string; filename: string; contentType: string; base64: string };
  /** Statuses that are not failures for `http_req_failed` (k6's expectedStatuses). */
  expected: number[];
  checks?: Record<string, (res: LoadResponse) => boolean>;
}

export type FlowOp =
  | { op: 'http'; request: LoadRequest }
  | { op: 'sleep'; seconds: number }
  | { op: 'metric'; name: string; value: number }
  | { op: 'check'; name: string; ok: boolean };

export interface LoadConfig {
  voicePublicUrl: string;
  twilioAuthToken: string;
  twilioAccountSid: string;
  voiceApiKey: string;
  whatsappAppSecret: string;
  whatsappApiKey: string;
  whatsappPhoneNumberId: string;
  whatsappDisplayPhoneNumber: string;
  videoApiKey: string;
}

export interface FlowContext {
  service: string;
  params: Record<string, unknown>;
  data: Record<string, unknown>;
  config: LoadConfig;
  sign: Signer;
  random: () => number;
  now: () => number;
  uid: string;
}

export type Flow = (ctx: FlowContext) => Generator<FlowOp, unknown, unknown>;

export const flows: Record<string, Flow>;
export function setup(
  ctx: Omit<FlowContext, 'data' | 'params'> & { services: string[] },
): Generator<FlowOp, Record<string, unknown>, unknown>;
