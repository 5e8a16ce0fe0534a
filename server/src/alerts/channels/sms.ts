import { renderDigest, renderMessage, truncateUtf8 } from '../render';
import { classifyStatus, field, httpRequest, snippet } from './http';
import type { ChannelSender, Outgoing, SendContext, SendResult } from './types';
import type { ChannelSecrets, ChannelSettings } from '../../contracts/alerts';

/**
 * SMS through an in-network gateway described by a template: URL, method, headers and body with
 * placeholders ({{phones}}, {{text}}, {{key}}, {{timestamp}}, {{secret}}), each value escaped for where
 * it lands (URL, JSON string, form field, plain text), and a success check on the answer.
 */

type Where = 'url' | 'application/json' | 'application/x-www-form-urlencoded' | 'text/plain';

function escapeFor(where: Where, value: string): string {
  switch (where) {
    case 'url':
    case 'application/x-www-form-urlencoded':
      return encodeURIComponent(value);
    case 'application/json':
      return JSON.stringify(value).slice(1, -1);
    case 'text/plain':
      return value;
  }
}

export function fillTemplate(template: string, values: Record<string, string>, where: Where): string {
  return template.replace(/\{\{\s*(\w+)\s*\}\}/g, (m, name: string) => (name in values ? escapeFor(where, values[name]) : m));
}

/** The SMS text: the rendered message, cut to maxChars characters. */
export function smsText(settings: ChannelSettings['sms'], out: Outgoing, timeZone: string): string {
  const opts = { format: 'text' as const, maxBytes: settings.maxChars * 4, timeZone };
  const full = out.kind === 'digest' ? renderDigest(out.messages, opts) : renderMessage(out.messages[0], opts);
  const chars = [...full];
  return chars.length <= settings.maxChars ? full : truncateUtf8(chars.slice(0, settings.maxChars - 1).join(''), settings.maxChars * 4, '…');
}

export function smsSuccess(settings: ChannelSettings['sms'], status: number, text: string, json: unknown): SendResult {
  const s = settings.success;
  const detail = `HTTP ${status} ${snippet(text)}`.trim();
  if (s.statuses.length > 0 && !s.statuses.includes(status)) return { outcome: 'failed', detail };
  if (s.bodyContains !== null && !text.includes(s.bodyContains)) return { outcome: 'failed', detail };
  if (s.jsonField !== null) {
    const v = field(json, s.jsonField);
    const got = typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined;
    if (got === undefined || got !== (s.jsonEquals ?? '')) return { outcome: 'failed', detail };
  }
  return { outcome: 'delivered', detail };
}

function headersOf(settings: ChannelSettings['sms'], values: Record<string, string>): Record<string, string> {
  const h: Record<string, string> = {};
  for (const [k, v] of Object.entries(settings.headers)) h[k] = fillTemplate(v, values, 'text/plain');
  if (settings.method !== 'GET') h['content-type'] = settings.contentType === 'text/plain' ? 'text/plain; charset=utf-8' : settings.contentType;
  return h;
}

export const sms: ChannelSender<'sms'> = {
  kind: 'sms',
  limits: [],
  target: (settings) => {
    const u = new URL(settings.url.replace(/\{\{\s*\w+\s*\}\}/g, 'x'));
    return `${u.origin}${u.pathname}`;
  },
  async send(settings, secrets: ChannelSecrets['sms'], out, ctx: SendContext) {
    const values = {
      phones: settings.phoneNumbers.join(','),
      text: smsText(settings, out, ctx.timeZone),
      key: out.key,
      timestamp: String(Math.floor(ctx.now() / 1000)),
      secret: secrets.secret ?? '',
    };
    const url = fillTemplate(settings.url, values, 'url');
    const body = settings.method === 'GET' ? undefined : fillTemplate(settings.bodyTemplate, values, settings.contentType);
    const r = await httpRequest({ method: settings.method, url, headers: headersOf(settings, values), body, timeoutMs: ctx.timeoutMs, proxyUrl: ctx.proxyUrl });
    if (!r.ok) return r.result;
    return classifyStatus(r.answer, ctx.now()) ?? smsSuccess(settings, r.answer.status, r.answer.text, r.answer.json);
  },
};
