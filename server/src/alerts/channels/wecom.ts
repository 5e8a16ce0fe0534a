import { renderDigest, renderMessage, type TextFormat } from '../render';
import { classifyStatus, httpRequest, snippet } from './http';
import type { ChannelSender, Outgoing, SendContext, SendResult } from './types';
import type { ChannelSettings } from '../../contracts/alerts';

/**
 * WeCom (企业微信) group robot: POST JSON to the robot's webhook URL (…/cgi-bin/webhook/send?key=…).
 * `text.content` ≤ 2,048 bytes, `markdown.content` ≤ 4,096 bytes. It answers HTTP 200 with
 * `{"errcode":0,"errmsg":"ok"}`; any other errcode is a failure, 45009 (frequency limit) and -1 (busy) retry.
 */

export const WECOM_MAX_BYTES: Record<TextFormat, number> = { text: 2048, markdown: 4096 };
/** The robot allows 20 messages a minute; we stay strictly under. */
export const WECOM_LIMITS = [{ max: 18, windowMs: 60_000 }] as const;
const RATE_WINDOW_MS = 60_000;

export function wecomContent(settings: ChannelSettings['wecom'], out: Outgoing, timeZone: string): string {
  const opts = { format: settings.msgtype, maxBytes: WECOM_MAX_BYTES[settings.msgtype], timeZone };
  return out.kind === 'digest' ? renderDigest(out.messages, opts) : renderMessage(out.messages[0], opts);
}

/** The robot's business code → outcome. */
export function classifyWecom(json: unknown): SendResult {
  const code = (json as { errcode?: unknown } | undefined)?.errcode;
  const msg = (json as { errmsg?: unknown } | undefined)?.errmsg;
  const detail = `errcode ${String(code)}${typeof msg === 'string' ? ` ${snippet(msg)}` : ''}`;
  if (code === 0) return { outcome: 'delivered', detail };
  if (code === 45009) return { outcome: 'retry', detail, retryAfterMs: RATE_WINDOW_MS };
  if (code === -1) return { outcome: 'retry', detail, retryAfterMs: null };
  if (typeof code !== 'number') return { outcome: 'failed', detail: 'answer without errcode' };
  return { outcome: 'failed', detail };
}

export const wecom: ChannelSender<'wecom'> = {
  kind: 'wecom',
  limits: WECOM_LIMITS,
  target: (_settings, secrets) => new URL(secrets.webhookUrl).origin,
  async send(settings, secrets, out, ctx: SendContext) {
    const content = wecomContent(settings, out, ctx.timeZone);
    const body =
      settings.msgtype === 'markdown'
        ? { msgtype: 'markdown', markdown: { content } }
        : { msgtype: 'text', text: { content, ...(settings.mentionedMobiles.length ? { mentioned_mobile_list: settings.mentionedMobiles } : {}) } };
    const r = await httpRequest({ method: 'POST', url: secrets.webhookUrl, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), timeoutMs: ctx.timeoutMs, proxyUrl: ctx.proxyUrl });
    if (!r.ok) return r.result;
    return classifyStatus(r.answer, ctx.now()) ?? classifyWecom(r.answer.json);
  },
};
