import type { ChannelKind } from '../../contracts/alerts';
import { dingtalk } from './dingtalk';
import { email } from './email';
import { feishu } from './feishu';
import { sms } from './sms';
import type { ChannelSender, Outgoing, RateLimit, ResolvedChannel, SendContext, SendResult } from './types';
import { webhook } from './webhook';
import { wecom } from './wecom';

export type { ChannelSender, Outgoing, RateLimit, ResolvedChannel, SendContext, SendResult } from './types';

/** Every channel kind's sender (one file each). */
export const senders: { readonly [K in ChannelKind]: ChannelSender<K> } = { wecom, dingtalk, feishu, email, sms, webhook };

/** Sends through the channel's kind; never throws (an unexpected error is a retry). */
export async function sendVia(ch: ResolvedChannel, out: Outgoing, ctx: SendContext): Promise<SendResult> {
  const c = { ...ctx, proxyUrl: ch.proxyUrl };
  try {
    switch (ch.kind) {
      case 'wecom':
        return await wecom.send(ch.settings, ch.secrets, out, c);
      case 'dingtalk':
        return await dingtalk.send(ch.settings, ch.secrets, out, c);
      case 'feishu':
        return await feishu.send(ch.settings, ch.secrets, out, c);
      case 'email':
        return await email.send(ch.settings, ch.secrets, out, c);
      case 'sms':
        return await sms.send(ch.settings, ch.secrets, out, c);
      case 'webhook':
        return await webhook.send(ch.settings, ch.secrets, out, c);
    }
  } catch (err) {
    return { outcome: 'retry', detail: `unexpected: ${err instanceof Error ? err.name : 'error'}`, retryAfterMs: null };
  }
}

export function targetOf(ch: ResolvedChannel): string {
  switch (ch.kind) {
    case 'wecom':
      return wecom.target(ch.settings, ch.secrets);
    case 'dingtalk':
      return dingtalk.target(ch.settings, ch.secrets);
    case 'feishu':
      return feishu.target(ch.settings, ch.secrets);
    case 'email':
      return email.target(ch.settings, ch.secrets);
    case 'sms':
      return sms.target(ch.settings, ch.secrets);
    case 'webhook':
      return webhook.target(ch.settings, ch.secrets);
  }
}

export function limitsOf(kind: ChannelKind): readonly RateLimit[] {
  return senders[kind].limits;
}
