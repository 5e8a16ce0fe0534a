import net from 'node:net';
import { armDeadline, classifyNetError, result, type Probe, type ProbeResult, type ProbeTarget } from './types';

/**
 * TCP connect to the camera's port (554 by default): the cheapest check (raw `net`, ≈90 µs CPU; see
 * DESIGN.md). After the handshake we half-close and wait for the peer's answer to our FIN, because a
 * service that accepts and then resets (a crashing RTSP server, or the simulator's `reset`/outage modes,
 * where one wildcard listener cannot refuse per address) is not up. A peer that keeps the connection open
 * without a word until the deadline has still accepted it: that is `ok` for this kind (the rtsp probe is
 * the one that notices a silent service). RTT is the connect time.
 */
export const tcpProbe: Probe = {
  kind: 'tcp',
  check(target: ProbeTarget, signal?: AbortSignal): Promise<ProbeResult> {
    return new Promise<ProbeResult>((resolve) => {
      const startedAt = performance.now();
      let connectedRtt: ProbeResult | undefined;
      let settled = false;
      const socket = net.connect({ host: target.host, port: target.port, allowHalfOpen: true });
      const finish = (r: ProbeResult): void => {
        if (settled) return;
        settled = true;
        disarm();
        socket.destroy();
        resolve(r);
      };
      const disarm = armDeadline(target.timeoutMs, signal, (why) => {
        if (connectedRtt) finish({ ...connectedRtt, detail: 'connected; peer kept the connection open' });
        else finish(result('timeout', startedAt, { detail: why === 'aborted' ? 'aborted' : 'connect timed out' }));
      });
      // `on`, not `once`: each event fires once per socket anyway, and once() allocates a wrapper (hot path).
      socket.on('connect', () => {
        connectedRtt = result('ok', startedAt);
        socket.end();
      });
      // Anything the peer sends is irrelevant to a connect check; flowing mode lets its FIN through.
      socket.resume();
      socket.on('end', () => {
        if (connectedRtt) finish(connectedRtt);
      });
      socket.on('close', () => {
        if (connectedRtt) finish(connectedRtt);
        else finish(result('reset', startedAt, { detail: 'closed before connect' }));
      });
      socket.on('error', (err: NodeJS.ErrnoException) => {
        const c = classifyNetError(err);
        finish(connectedRtt && c.outcome === 'reset'
          ? { ...result('reset', startedAt, { detail: `${c.detail} after connect` }), rttMs: connectedRtt.rttMs }
          : result(c.outcome, startedAt, { detail: c.detail }));
      });
    });
  },
};
