export interface BackoffOptions {
  /** Failures allowed before any delay is imposed. */
  freeFailures: number;
  /** Delay after the first failure beyond the free ones; doubles with each further failure. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** A key with no failure for this long is forgotten (its count starts over). */
  forgetAfterMs: number;
  /** Upper bound on tracked keys, so a spray of usernames cannot exhaust memory. */
  maxKeys: number;
}

interface Entry {
  failures: number;
  lockedUntil: number;
  lastFailure: number;
}

/**
 * Login throttle with exponential backoff, kept in memory (one instance per app; a restart forgets it,
 * which is acceptable for a throttle). Each key (a username at an address, an address) is tracked separately: after
 * `freeFailures` failures, each further failure locks the key for base·2^(n−1), capped at maxDelayMs.
 */
export class BackoffLimiter {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly opts: BackoffOptions,
    private readonly now: () => number = Date.now,
  ) {}

  /** Milliseconds the caller must still wait for this key (0 = may try now). */
  retryAfterMs(key: string): number {
    const e = this.live(key);
    return e ? Math.max(0, e.lockedUntil - this.now()) : 0;
  }

  /** Counts a failure; returns the time (ms) until which the key is now locked, or 0 when this failure was free. */
  recordFailure(key: string): number {
    const now = this.now();
    const e = this.live(key) ?? { failures: 0, lockedUntil: 0, lastFailure: now };
    e.failures += 1;
    e.lastFailure = now;
    const over = e.failures - this.opts.freeFailures;
    if (over > 0) e.lockedUntil = now + Math.min(this.opts.maxDelayMs, this.opts.baseDelayMs * 2 ** Math.min(over - 1, 30));
    this.entries.delete(key);
    this.entries.set(key, e);
    if (this.entries.size > this.opts.maxKeys) this.evict();
    return over > 0 ? e.lockedUntil : 0;
  }

  /** Takes back one failure recorded in advance (see AuthService.login). */
  forgive(key: string): void {
    const e = this.entries.get(key);
    if (!e) return;
    e.failures = Math.max(0, e.failures - 1);
    if (e.failures <= this.opts.freeFailures) e.lockedUntil = 0;
    if (e.failures === 0) this.entries.delete(key);
  }

  reset(key: string): void {
    this.entries.delete(key);
  }

  /** Forgets every key the predicate accepts (an admin's unlock); returns how many were locked then. */
  resetWhere(predicate: (key: string) => boolean): number {
    const now = this.now();
    let locked = 0;
    for (const [key, e] of [...this.entries]) {
      if (!predicate(key)) continue;
      if (e.lockedUntil > now) locked++;
      this.entries.delete(key);
    }
    return locked;
  }

  get size(): number {
    return this.entries.size;
  }

  private live(key: string): Entry | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    const now = this.now();
    if (now - e.lastFailure > this.opts.forgetAfterMs && e.lockedUntil <= now) {
      this.entries.delete(key);
      return undefined;
    }
    return e;
  }

  private evict(): void {
    // Map iterates in insertion order and recordFailure re-inserts, so the first keys are the stalest.
    for (const key of this.entries.keys()) {
      if (this.entries.size <= this.opts.maxKeys) break;
      this.entries.delete(key);
    }
  }
}
