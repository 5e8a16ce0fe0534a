import type { RateLimit } from './channels';

/**
 * Sliding windows per channel: the send times of the last window, so "at most N in any W ms" holds for
 * every window, not only aligned minutes. A channel can also be blocked until a time (the receiver said
 * "too fast, wait"). In memory: the dispatcher seeds it from the outbox's last attempts at start-up, so a
 * restart does not forget the sends of the last minute.
 */
export class SlidingWindows {
  private readonly sends = new Map<string, number[]>();
  private readonly blocked = new Map<string, number>();

  /** How many sends the channel may make at `now` under all its limits (Infinity without limits). */
  available(channelId: string, limits: readonly RateLimit[], now: number): number {
    if ((this.blocked.get(channelId) ?? 0) > now) return 0;
    if (limits.length === 0) return Number.POSITIVE_INFINITY;
    const times = this.prune(channelId, limits, now);
    let free = Number.POSITIVE_INFINITY;
    for (const l of limits) {
      let inWindow = 0;
      for (let i = times.length - 1; i >= 0 && times[i] > now - l.windowMs; i--) inWindow += 1;
      free = Math.min(free, Math.max(0, l.max - inWindow));
    }
    return free;
  }

  /** When the channel may send again (ms epoch), given it has no capacity now. */
  nextFreeAt(channelId: string, limits: readonly RateLimit[], now: number): number {
    let at = Math.max(now, this.blocked.get(channelId) ?? 0);
    const times = this.sends.get(channelId) ?? [];
    for (const l of limits) {
      const inWindow = times.filter((t) => t > now - l.windowMs);
      if (inWindow.length >= l.max) at = Math.max(at, inWindow[inWindow.length - l.max] + l.windowMs);
    }
    return at;
  }

  record(channelId: string, at: number): void {
    const times = this.sends.get(channelId) ?? [];
    times.push(at);
    times.sort((a, b) => a - b);
    this.sends.set(channelId, times);
  }

  block(channelId: string, until: number): void {
    this.blocked.set(channelId, Math.max(until, this.blocked.get(channelId) ?? 0));
  }

  private prune(channelId: string, limits: readonly RateLimit[], now: number): number[] {
    const longest = Math.max(...limits.map((l) => l.windowMs));
    const times = (this.sends.get(channelId) ?? []).filter((t) => t > now - longest);
    this.sends.set(channelId, times);
    return times;
  }
}
