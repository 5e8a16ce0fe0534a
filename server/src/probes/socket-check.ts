import { dial, type Conn, type ConnHandler } from './conn';
import { armDeadline, type ProbeResult, type ProbeTarget } from './types';

/**
 * What the socket probes (tcp, rtsp) share: one object per check that receives the socket callbacks
 * (no closures per check: the polling engine runs thousands a second), one deadline for the whole
 * check, and exactly one result.
 */
export abstract class SocketCheck implements ConnHandler {
  protected readonly startedAt = performance.now();
  protected readonly conn: Conn;
  private settled = false;
  private readonly disarm: () => void;

  constructor(
    protected readonly target: ProbeTarget,
    signal: AbortSignal | undefined,
    private readonly done: (r: ProbeResult) => void,
  ) {
    this.conn = dial(target.host, target.port, this, target.family);
    this.disarm = armDeadline(target.timeoutMs, signal, (why) => this.finish(this.expired(why)));
  }

  /** The result when the deadline passes (or the signal aborts) first. */
  protected abstract expired(why: 'timeout' | 'aborted'): ProbeResult;

  protected finish(r: ProbeResult): void {
    if (this.settled) return;
    this.settled = true;
    this.disarm();
    this.conn.close();
    this.done(r);
  }

  abstract onConnect(): void;
  abstract onData(chunk: Buffer): void;
  abstract onEnd(): void;
  abstract onError(code: string): void;
}
