/**
 * The one interface every probe kind implements: `check(target, signal) → ProbeResult`. Probes hold no
 * state between checks; all socket/HTTP detail of a kind lives in its own file (tcp.ts, rtsp.ts, onvif.ts,
 * http.ts). A probe never throws for a network outcome: every failure is a classified result.
 */

import { probeKinds, probeOutcomes, type ProbeKind, type ProbeOutcome } from '../contracts/vocabulary';

export { probeKinds, probeOutcomes, type ProbeKind, type ProbeOutcome };


export interface ProbeTarget {
  host: string;
  /** `net.isIP(host)` worked out once when the target is built (saves a regex per check); optional. */
  family?: 0 | 4 | 6;
  port: number;
  timeoutMs: number;
  /** rtsp: stream path (e.g. /Streaming/Channels/101); http: request path; onvif: service path. */
  path?: string;
  /** rtsp: also send DESCRIBE after OPTIONS (a 200 with SDP means a stream exists). */
  describe?: boolean;
  /** http: accepted status codes (default [200]). */
  expectStatus?: readonly number[];
}

export interface ProbeResult {
  outcome: ProbeOutcome;
  /** True when the device is alive (ok or auth_required). */
  up: boolean;
  /** Time to the answer that decided the outcome (connect for tcp, first response for the others), ms. */
  rttMs: number;
  /** Protocol status code when one was read (RTSP / HTTP). */
  status?: number;
  /**
   * Vigil's own words for the outcome (never bytes read from the target: a probe must not become a way to
   * read the services it can reach).
   */
  detail?: string;
}

export interface Probe {
  readonly kind: ProbeKind;
  check(target: ProbeTarget, signal?: AbortSignal): Promise<ProbeResult>;
  /**
   * The same check in callback form, without a signal: the polling engine's hot path, where a promise
   * (and its microtask hops) per check is measurable at thousands of checks a second. Optional: the
   * engine falls back to `check`.
   */
  readonly run?: (target: ProbeTarget, done: (r: ProbeResult) => void) => void;
}

/** Most a probe reads from a peer; a camera has no reason to send more in answer to a status request. */
export const MAX_READ_BYTES = 64 * 1024;

/** The authentication scheme a challenge names, as one of the known words (the header itself is the peer's text). */
export function authScheme(challenge: string | string[] | undefined): 'Basic' | 'Digest' | 'Bearer' | 'other' {
  const first = (Array.isArray(challenge) ? challenge[0] : challenge)?.trim().split(/\s/)[0]?.toLowerCase();
  return first === 'basic' ? 'Basic' : first === 'digest' ? 'Digest' : first === 'bearer' ? 'Bearer' : 'other';
}

export function isUp(outcome: ProbeOutcome): boolean {
  return outcome === 'ok' || outcome === 'auth_required';
}

export function result(outcome: ProbeOutcome, startedAt: number, extra?: { status?: number; detail?: string }): ProbeResult {
  const r: ProbeResult = { outcome, up: isUp(outcome), rttMs: Math.round((performance.now() - startedAt) * 1000) / 1000 };
  if (extra?.status !== undefined) r.status = extra.status;
  if (extra?.detail !== undefined) r.detail = extra.detail;
  return r;
}

/** Maps a Node socket error to an outcome. */
export function classifyNetError(err: NodeJS.ErrnoException | string): { outcome: ProbeOutcome; detail: string } {
  const code = typeof err === 'string' ? err : (err.code ?? '');
  switch (code) {
    case 'ECONNREFUSED':
      return { outcome: 'refused', detail: code };
    case 'ECONNRESET':
    case 'EPIPE':
    case 'ECONNABORTED':
      return { outcome: 'reset', detail: code };
    case 'ETIMEDOUT':
      return { outcome: 'timeout', detail: code };
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EADDRNOTAVAIL':
      return { outcome: 'unreachable', detail: code };
    default:
      return { outcome: 'protocol_error', detail: code || (typeof err === 'string' ? 'socket error' : err.message) };
  }
}

/**
 * Runs `onExpire` once when the timeout elapses or the signal aborts, whichever is first. Returns the
 * disarm function. A plain timer (not socket idle timeouts) so the whole check is bounded, not each read.
 */
export function armDeadline(timeoutMs: number, signal: AbortSignal | undefined, onExpire: (why: 'timeout' | 'aborted') => void): () => void {
  let done = false;
  const fire = (why: 'timeout' | 'aborted'): void => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
    onExpire(why);
  };
  const onAbort = (): void => fire('aborted');
  const timer = setTimeout(fire, timeoutMs, 'timeout');
  if (signal) {
    if (signal.aborted) queueMicrotask(onAbort);
    else signal.addEventListener('abort', onAbort, { once: true });
  }
  return () => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  };
}
