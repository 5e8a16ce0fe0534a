import nodemailer from 'nodemailer';
import { renderDigest, renderMessage, subjectOf } from '../render';
import type { ChannelSender, SendContext, SendResult } from './types';

/**
 * SMTP e-mail through nodemailer (the channel's proxy: HTTP CONNECT, built into nodemailer). The outbox's
 * key is the Message-ID, so a resend after a crash is recognisable as the same message. SMTP 5xx replies and
 * authentication errors are permanent; 4xx replies and connection problems retry.
 */

export const EMAIL_MAX_BYTES = 64 * 1024;

export function classifySmtpError(err: unknown): SendResult {
  const e = err as { code?: unknown; responseCode?: unknown; response?: unknown };
  const rc = typeof e.responseCode === 'number' ? e.responseCode : null;
  const code = typeof e.code === 'string' ? e.code : 'ERROR';
  const detail = rc !== null ? `SMTP ${rc}${typeof e.response === 'string' ? ` ${e.response.slice(0, 200)}` : ''}` : `SMTP ${code}`;
  if (code === 'EAUTH' || code === 'EENVELOPE' || code === 'EMESSAGE') return { outcome: 'failed', detail };
  if (rc !== null && rc >= 500) return { outcome: 'failed', detail };
  return { outcome: 'retry', detail, retryAfterMs: null };
}

export const email: ChannelSender<'email'> = {
  kind: 'email',
  limits: [],
  target: (settings) => `smtp://${settings.host}:${settings.port}`,
  async send(settings, secrets, out, ctx: SendContext) {
    const transport = nodemailer.createTransport({
      host: settings.host,
      port: settings.port,
      secure: settings.secure,
      ...(settings.username ? { auth: { user: settings.username, pass: secrets.password ?? '' } } : {}),
      ...(ctx.proxyUrl ? { proxy: ctx.proxyUrl } : {}),
      tls: { rejectUnauthorized: settings.tlsVerify },
      connectionTimeout: ctx.timeoutMs,
      greetingTimeout: ctx.timeoutMs,
      socketTimeout: ctx.timeoutMs,
    });
    const opts = { format: 'text' as const, maxBytes: EMAIL_MAX_BYTES, timeZone: ctx.timeZone };
    try {
      const info = await transport.sendMail({
        from: settings.from,
        to: settings.to,
        subject: subjectOf(out.messages),
        text: out.kind === 'digest' ? renderDigest(out.messages, opts) : renderMessage(out.messages[0], opts),
        messageId: `<${out.key}@vigil>`,
        headers: { 'X-Vigil-Idempotency-Key': out.key },
      });
      return { outcome: 'delivered', detail: typeof info.response === 'string' ? info.response.slice(0, 200) : 'sent' };
    } catch (err) {
      return classifySmtpError(err);
    } finally {
      transport.close();
    }
  },
};
