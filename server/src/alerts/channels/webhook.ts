import crypto from 'node:crypto';
import { renderDigest, renderMessage } from '../render';
import { classifyStatus, httpRequest } from './http';
import type { ChannelSender, Outgoing, SendContext } from './types';

/**
 * Generic webhook: POST JSON, signed so the receiver can check it came from Vigil and is fresh:
 *   X-Vigil-Timestamp: unix seconds
 *   X-Vigil-Signature: sha256=<hex HMAC-SHA256(key = secret, msg = timestamp + "." + raw body)>
 *   X-Vigil-Idempotency-Key: the same for every attempt of one notification (deduplicate on it)
 * Any 2xx is delivered; 429/5xx/network retry; other statuses are permanent. See README "Alerts".
 */

export const WEBHOOK_TEXT_MAX_BYTES = 4096;

export function webhookSignature(secret: string, timestampSec: number, body: string): string {
  return `sha256=${crypto.createHmac('sha256', secret).update(`${timestampSec}.${body}`, 'utf8').digest('hex')}`;
}

/** The JSON a webhook receives: the structured messages plus a ready-to-show Chinese text. */
export function webhookPayload(out: Outgoing, timeZone: string): Record<string, unknown> {
  const opts = { format: 'text' as const, maxBytes: WEBHOOK_TEXT_MAX_BYTES, timeZone };
  return {
    key: out.key,
    type: out.kind,
    incidentId: out.incidentId,
    revision: out.revision,
    messages: out.messages,
    text: out.kind === 'digest' ? renderDigest(out.messages, opts) : renderMessage(out.messages[0], opts),
  };
}

export const webhook: ChannelSender<'webhook'> = {
  kind: 'webhook',
  limits: [],
  target: (settings) => {
    const u = new URL(settings.url);
    return `${u.origin}${u.pathname}`;
  },
  async send(settings, secrets, out, ctx: SendContext) {
    const body = JSON.stringify(webhookPayload(out, ctx.timeZone));
    const ts = Math.floor(ctx.now() / 1000);
    const headers = {
      ...settings.headers,
      'content-type': 'application/json',
      'x-vigil-timestamp': String(ts),
      'x-vigil-signature': webhookSignature(secrets.secret, ts, body),
      'x-vigil-idempotency-key': out.key,
    };
    const r = await httpRequest({ method: 'POST', url: settings.url, headers, body, timeoutMs: ctx.timeoutMs, proxyUrl: ctx.proxyUrl });
    if (!r.ok) return r.result;
    return classifyStatus(r.answer, ctx.now()) ?? { outcome: 'delivered', detail: `HTTP ${r.answer.status}` };
  },
};
