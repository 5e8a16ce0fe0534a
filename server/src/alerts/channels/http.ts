import type { Agent } from 'node:http';
import axios, { type AxiosRequestConfig } from 'axios';
import type { SendResult } from './types';

/**
 * https-proxy-agent is ESM-only and publishes its types through `exports` alone, which this project's
 * `moduleResolution: node` does not read; Node ≥ 20.19 requires ESM synchronously, so it is loaded here
 * with the one member used. It tunnels both http: and https: targets with CONNECT.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { HttpsProxyAgent } = require('https-proxy-agent') as { HttpsProxyAgent: new (proxy: string) => Agent };

/**
 * The HTTP leg shared by the HTTP channel kinds: one request (through the channel's proxy when set) and the
 * transport-level classification. axios, not the probe path's raw sockets: a few requests a minute.
 */

export interface HttpAnswer {
  status: number;
  headers: Record<string, string>;
  text: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: unknown;
}

export interface HttpRequest {
  method: 'GET' | 'POST' | 'PUT';
  url: string;
  headers?: Record<string, string>;
  /** Sent as is (already serialised). */
  body?: string;
  timeoutMs: number;
  proxyUrl: string | null;
}

export type HttpResult = { ok: true; answer: HttpAnswer } | { ok: false; result: SendResult };

const MAX_ANSWER_BYTES = 256 * 1024;

/** Sends one request; a network failure or timeout is a `retry` result, never an exception. */
export async function httpRequest(req: HttpRequest): Promise<HttpResult> {
  const agent = req.proxyUrl ? new HttpsProxyAgent(req.proxyUrl) : undefined;
  const config: AxiosRequestConfig<string> = {
    method: req.method,
    url: req.url,
    headers: req.headers,
    data: req.body,
    timeout: req.timeoutMs,
    // the channel's own proxy or none: never the process environment's HTTP(S)_PROXY
    proxy: false,
    httpAgent: agent,
    httpsAgent: agent,
    maxRedirects: 0,
    maxContentLength: MAX_ANSWER_BYTES,
    responseType: 'text',
    transformResponse: (d: unknown) => d,
    validateStatus: () => true,
  };
  try {
    const res = await axios.request<string>(config);
    const text = typeof res.data === 'string' ? res.data : '';
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') headers[k.toLowerCase()] = v;
    return { ok: true, answer: { status: res.status, headers, text, json } };
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    return { ok: false, result: { outcome: 'retry', detail: `network: ${typeof code === 'string' ? code : 'request failed'}`, retryAfterMs: null } };
  } finally {
    agent?.destroy();
  }
}

/** Retry-After as seconds or an HTTP date → ms (null when absent or unreadable). */
export function retryAfterMs(value: string | undefined, now: number): number | null {
  if (!value) return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

/**
 * Transport classification: 429 and 5xx retry (honouring Retry-After), other non-2xx statuses are
 * permanent; a 2xx answer is null here and the kind reads its body (robots answer 200 on errors).
 */
export function classifyStatus(answer: HttpAnswer, now: number): SendResult | null {
  const s = answer.status;
  if (s >= 200 && s < 300) return null;
  if (s === 429 || s >= 500) return { outcome: 'retry', detail: `HTTP ${s}`, retryAfterMs: retryAfterMs(answer.headers['retry-after'], now) };
  return { outcome: 'failed', detail: `HTTP ${s}` };
}

/** A readable slice of an answer for logs and health (never the request, which may hold secrets). */
export function snippet(text: string): string {
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

/** `obj.a.b` of a parsed JSON answer. */
export function field(json: unknown, path: string): unknown {
  let cur: unknown = json;
  for (const part of path.split('.')) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}
