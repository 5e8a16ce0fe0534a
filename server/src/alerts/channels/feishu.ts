import crypto from 'node:crypto';
import { renderDigest, renderMessage } from '../render';
import { classifyStatus, httpRequest, snippet } from './http';
import type { ChannelSender, SendContext, SendResult } from './types';

/**
 * Feishu (飞书) custom bot: POST JSON to …/open-apis/bot/v2/hook/<token>. With 签名校验 the body carries
 * `timestamp` (seconds) and `sign` = base64(HMAC-SHA256(key = timestamp + "\n" + secret, msg = empty)).
 * Answers HTTP 200 with `{"code":0}` (older bots: `{"StatusCode":0}`); 19021 (bad signature), 19022 (IP
 * not allowed) and 19024 (keyword missing) are permanent, 11232 (frequency limited) retries.
 */

export const FEISHU_MAX_BYTES = 4096;
/** 100 a minute and 5 a second per bot; we stay strictly under. */
export const FEISHU_LIMITS = [
  { max: 4, windowMs: 1000 },
  { max: 90, windowMs: 60_000 },
] as const;
const RATE_WINDOW_MS = 60_000;
const PERMANENT = new Set([19021, 19022, 19024]);

export function feishuSign(secret: string, timestampSec: number): string {
  return crypto.createHmac('sha256', `${timestampSec}\n${secret}`).update('').digest('base64');
}

export function classifyFeishu(json: unknown): SendResult {
  const j = json as { code?: unknown; msg?: unknown; StatusCode?: unknown; StatusMessage?: unknown } | undefined;
  const code = j?.code ?? j?.StatusCode;
  const msg = j?.msg ?? j?.StatusMessage;
  const detail = `code ${String(code)}${typeof msg === 'string' ? ` ${snippet(msg)}` : ''}`;
  if (code === 0) return { outcome: 'delivered', detail };
  if (code === 11232) return { outcome: 'retry', detail, retryAfterMs: RATE_WINDOW_MS };
  if (typeof code === 'number' && PERMANENT.has(code)) return { outcome: 'failed', detail };
  if (typeof code !== 'number') return { outcome: 'failed', detail: 'answer without code' };
  return { outcome: 'failed', detail };
}

export const feishu: ChannelSender<'feishu'> = {
  kind: 'feishu',
  limits: FEISHU_LIMITS,
  target: (_settings, secrets) => new URL(secrets.webhookUrl).origin,
  async send(settings, secrets, out, ctx: SendContext) {
    const opts = { format: 'text' as const, maxBytes: FEISHU_MAX_BYTES, timeZone: ctx.timeZone, keyword: settings.keyword };
    const text = out.kind === 'digest' ? renderDigest(out.messages, opts) : renderMessage(out.messages[0], opts);
    const ts = Math.floor(ctx.now() / 1000);
    const body = { ...(secrets.secret ? { timestamp: String(ts), sign: feishuSign(secrets.secret, ts) } : {}), msg_type: 'text', content: { text } };
    const r = await httpRequest({ method: 'POST', url: secrets.webhookUrl, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), timeoutMs: ctx.timeoutMs, proxyUrl: ctx.proxyUrl });
    if (!r.ok) return r.result;
    return classifyStatus(r.answer, ctx.now()) ?? classifyFeishu(r.answer.json);
  },
};
