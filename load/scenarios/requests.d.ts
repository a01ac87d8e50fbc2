import type { LoadRequest, LoadResponse, Signer } from './flows.js';

export const LOAD_PNG_BASE64: string;
export const RENDER_DONE: string[];
export const RENDER_FAILED: string[];
export function randomHex(random: () => number, length: number): string;
export function randomMsisdn(random: () => number): string;
export function headerOf(res: Pick<LoadResponse, 'headers'>, name: string): string | undefined;
export function jsonOf(res: Pick<LoadResponse, 'body'>): unknown;
export function formEncode(params: Record<string, string>): string;
export function twilioSigningPayload(fullUrl: string, params: Record<string, string>): string;
export function rfc2822(date: Date): string;
export function healthRequest(service: string): LoadRequest;
export function whatsappWebhookRequest(o: {
  appSecret: string;
  phoneNumberId: string;
  displayPhoneNumber: string;
  sign: Signer;
  random: () => number;
  now: () => number;
  uid: string;
}): LoadRequest;
export function whatsappSendRequest(o: { apiKey: string; random: () => number }): LoadRequest;
export function voiceStatusRequest(o: {
  publicUrl: string;
  authToken: string;
  accountSid: string;
  callSid?: string;
  sign: Signer;
  random: () => number;
  now: () => number;
}): LoadRequest;
export function outboundCallRequest(o: { apiKey: string; to: string; expected?: number[] }): LoadRequest;
export function invalidOutboundCallRequest(o: { apiKey: string }): LoadRequest;
export function assetUploadRequest(o: { apiKey: string }): LoadRequest;
export function renderSubmitRequest(o: { apiKey: string; assetId: string }): LoadRequest;
export function renderStatusRequest(o: { apiKey: string; renderId: string }): LoadRequest;
