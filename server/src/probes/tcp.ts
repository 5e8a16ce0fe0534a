import { SocketCheck } from './socket-check';
import { classifyNetError, result, type Probe, type ProbeResult, type ProbeTarget } from './types';

/**
 * TCP connect to the camera's port (554 by default): the cheapest check. After the handshake we half-close
 * and wait for the peer's answer to our FIN, because a service that accepts and then resets (a crashing
 * RTSP server, or the simulator's `reset`/outage modes, where one wildcard listener cannot refuse per
 * address) is not up. A peer that keeps the connection open without a word until the deadline has still
 * accepted it: that is `ok` for this kind (the rtsp probe is the one that notices a silent service). RTT is
 * the connect time.
 */
class TcpCheck extends SocketCheck {
  private connected: ProbeResult | undefined;

  protected expired(why: 'timeout' | 'aborted'): ProbeResult {
    if (this.connected) return { ...this.connected, detail: 'connected; peer kept the connection open' };
    return result('timeout', this.startedAt, { detail: why === 'aborted' ? 'aborted' : 'connect timed out' });
  }

  onConnect(): void {
    this.connected = result('ok', this.startedAt);
    this.conn.end();
  }

  onData(): void {
    // whatever the peer says is irrelevant to a connect check; its FIN is what we wait for
  }

  onEnd(): void {
    this.finish(this.connected ?? result('reset', this.startedAt, { detail: 'closed before connect' }));
  }

  onError(code: string): void {
    const c = classifyNetError(code);
    this.finish(this.connected && c.outcome === 'reset'
      ? { ...result('reset', this.startedAt, { detail: `${c.detail} after connect` }), rttMs: this.connected.rttMs }
      : result(c.outcome, this.startedAt, { detail: c.detail }));
  }
}

export const tcpProbe: Probe = {
  kind: 'tcp',
  check(target: ProbeTarget, signal?: AbortSignal): Promise<ProbeResult> {
    return new Promise<ProbeResult>((resolve) => new TcpCheck(target, signal, resolve));
  },
  run(target: ProbeTarget, done: (r: ProbeResult) => void): void {
    new TcpCheck(target, undefined, done);
  },
};
