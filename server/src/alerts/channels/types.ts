import type { AlertMessage, ChannelKind, ChannelSecrets, ChannelSettings } from '../../contracts/alerts';

/**
 * What one send achieved, as the outbox acts on it:
 * - delivered: the receiver accepted it (robots: business code 0)
 * - retry: try again later (rate limited, busy, 429/5xx, network); `retryAfterMs` when the receiver says when
 * - failed: permanent (bad keyword/signature/token, other 4xx); the channel turns unhealthy
 */
export type SendResult =
  | { outcome: 'delivered'; detail: string }
  | { outcome: 'retry'; detail: string; retryAfterMs: number | null }
  | { outcome: 'failed'; detail: string };

/** One request to a receiver: a single message, a digest of several, or a test. */
export interface Outgoing {
  /** Idempotency key (the outbox row's): the same for every attempt of this message. */
  key: string;
  kind: 'alert' | 'digest' | 'test';
  incidentId: string | null;
  revision: number | null;
  /** One message (alert, test) or the merged ones (digest). */
  messages: AlertMessage[];
}

export interface SendContext {
  timeoutMs: number;
  /** Outbound proxy for this channel (http://[user:pass@]host:port) or null. */
  proxyUrl: string | null;
  timeZone: string;
  /** Milliseconds since the epoch (injected in tests: signatures carry it). */
  now(): number;
}

/** A sliding-window limit: at most `max` sends in any `windowMs`. */
export interface RateLimit {
  max: number;
  windowMs: number;
}

/** The facts of one channel kind: its limits and how it sends. One file per kind implements this. */
export interface ChannelSender<K extends ChannelKind> {
  readonly kind: K;
  /** Sending strictly under the receiver's own limits (robots lock up when exceeded). */
  readonly limits: readonly RateLimit[];
  send(settings: ChannelSettings[K], secrets: ChannelSecrets[K], out: Outgoing, ctx: SendContext): Promise<SendResult>;
  /** Where messages go, without secrets (shown by the API). */
  target(settings: ChannelSettings[K], secrets: ChannelSecrets[K]): string;
}

/** A channel with its secrets decrypted, as a sender needs it. */
export type ResolvedChannel = {
  [K in ChannelKind]: { kind: K; settings: ChannelSettings[K]; secrets: ChannelSecrets[K]; proxyUrl: string | null };
}[ChannelKind];
