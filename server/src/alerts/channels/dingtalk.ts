import crypto from 'node:crypto';
import { renderDigest, renderMessage, subjectOf } from '../render';
import { classifyStatus, httpRequest, snippet } from './http';
import type { ChannelSender, Outgoing, SendContext, SendResult } from './types';
import type { ChannelSettings } from '../../contracts/alerts';

/**
 * DingTalk (钉钉) custom robot: POST JSON to …/robot/send?access_token=…; with 加签 the URL also carries
 * `timestamp` (ms) and `sign` = base64(HMAC-SHA256(key = secret, msg = timestamp + "\n" + secret)),
 * URL-encoded. With 自定义关键词 every message must contain the keyword. Answers HTTP 200 with
 * `{"errcode":0}`; 310000 (keyword, signature or IP not allowed) is permanent, 130101 (more than 20 a
 * minute: the robot is throttled) retries after the window.
 */

export const DINGTALK_MAX_BYTES = 4096;
/** 20 a minute; exceeding it locks the robot for 10 minutes, so we stay strictly under. */
export const DINGTALK_LIMITS = [{ max: 18, windowMs: 60_000 }] as const;
const RATE_WINDOW_MS = 60_000;

export function dingtalkSign(secret: string, timestampMs: number): string {
  return crypto.createHmac('sha256', secret).update(`${timestampMs}\n${secret}`, 'utf8').digest('base64');
}

/** The webhook URL with `timestamp` and `sign` added (URL-encoded) when the robot has a secret. */
export function dingtalkUrl(webhookUrl: string, secret: string | null | undefined, timestampMs: number): string {
  if (!secret) return webhookUrl;
  const u = new URL(webhookUrl);
  u.searchParams.set('timestamp', String(timestampMs));
  u.searchParams.set('sign', dingtalkSign(secret, timestampMs));
  return u.toString();
}

export function dingtalkBody(settings: ChannelSettings['dingtalk'], out: Outgoing, timeZone: string): Record<string, unknown> {
  const opts = { format: settings.msgtype, maxBytes: DINGTALK_MAX_BYTES, timeZone, keyword: settings.keyword };
  const content = out.kind === 'digest' ? renderDigest(out.messages, opts) : renderMessage(out.messages[0], opts);
  const at = { atMobiles: settings.atMobiles, isAtAll: false };
  if (settings.msgtype === 'markdown') {
    const title = subjectOf(out.messages);
    return { msgtype: 'markdown', markdown: { title: settings.keyword && !title.includes(settings.keyword) ? `${settings.keyword} ${title}` : title, text: content }, at };
  }
  return { msgtype: 'text', text: { content }, at };
}

export function classifyDingtalk(json: unknown): SendResult {
  const code = (json as { errcode?: unknown } | undefined)?.errcode;
  const msg = (json as { errmsg?: unknown } | undefined)?.errmsg;
  const detail = `errcode ${String(code)}${typeof msg === 'string' ? ` ${snippet(msg)}` : ''}`;
  if (code === 0) return { outcome: 'delivered', detail };
  if (code === 130101) return { outcome: 'retry', detail, retryAfterMs: RATE_WINDOW_MS };
  if (code === -1) return { outcome: 'retry', detail, retryAfterMs: null };
  if (typeof code !== 'number') return { outcome: 'failed', detail: 'answer without errcode' };
  return { outcome: 'failed', detail };
}

export const dingtalk: ChannelSender<'dingtalk'> = {
  kind: 'dingtalk',
  limits: DINGTALK_LIMITS,
  target: (_settings, secrets) => new URL(secrets.webhookUrl).origin,
  async send(settings, secrets, out, ctx: SendContext) {
    const url = dingtalkUrl(secrets.webhookUrl, secrets.secret, ctx.now());
    const body = JSON.stringify(dingtalkBody(settings, out, ctx.timeZone));
    const r = await httpRequest({ method: 'POST', url, headers: { 'content-type': 'application/json' }, body, timeoutMs: ctx.timeoutMs, proxyUrl: ctx.proxyUrl });
    if (!r.ok) return r.result;
    return classifyStatus(r.answer, ctx.now()) ?? classifyDingtalk(r.answer.json);
  },
};
