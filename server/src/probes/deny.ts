import dns from 'node:dns';
import net from 'node:net';
import type { AddressDenyList } from '../lib/cidr';
import type { Probe, ProbeKind, ProbeResult, ProbeTarget } from './types';

function denied(startedAt: number): ProbeResult {
  return { outcome: 'unreachable', up: false, rttMs: Math.round((performance.now() - startedAt) * 1000) / 1000, detail: 'target address denied (PROBE_DENY_CIDRS)' };
}

/**
 * The probes, refusing targets in denied ranges at probe time too: points stored before a range was denied,
 * and names that resolve into one. A name is resolved here and the probe dials the address that was checked
 * (no second lookup that could answer differently). The verdict of an IP target is kept per target object
 * (targets are built once per point configuration), so the hot path pays one WeakMap read.
 */
export function guardProbes(probes: Readonly<Record<ProbeKind, Probe>>, deny: AddressDenyList): Readonly<Record<ProbeKind, Probe>> {
  const verdicts = new WeakMap<ProbeTarget, boolean>();
  const resolveThen = (target: ProbeTarget, go: (t: ProbeTarget | null) => void): void => {
    const known = verdicts.get(target);
    if (known !== undefined) return go(known ? null : target);
    if (net.isIP(target.host) !== 0) {
      const bad = deny.deniesAddress(target.host);
      verdicts.set(target, bad);
      return go(bad ? null : target);
    }
    if (deny.hostProblem(target.host)) return go(null);
    dns.lookup(target.host, { all: true }, (err, addresses) => {
      // a failed lookup is the probe's own outcome to classify (unreachable): let it try and fail
      if (err || addresses.length === 0) return go(target);
      if (addresses.some((a) => deny.deniesAddress(a.address))) return go(null);
      const first = addresses[0];
      go({ ...target, host: first.address, family: first.family === 6 ? 6 : 4 });
    });
  };
  const wrap = (probe: Probe): Probe => ({
    kind: probe.kind,
    check: (target, signal) => {
      const startedAt = performance.now();
      return new Promise<ProbeResult>((resolve, reject) => {
        resolveThen(target, (t) => {
          if (t) probe.check(t, signal).then(resolve, reject);
          else resolve(denied(startedAt));
        });
      });
    },
    run: (target, done) => {
      const startedAt = performance.now();
      resolveThen(target, (t) => {
        if (!t) done(denied(startedAt));
        else if (probe.run) probe.run(t, done);
        else probe.check(t).then(done, (err: unknown) => done({ outcome: 'protocol_error', up: false, rttMs: performance.now() - startedAt, detail: String(err) }));
      });
    },
  });
  return { tcp: wrap(probes.tcp), rtsp: wrap(probes.rtsp), onvif: wrap(probes.onvif), http: wrap(probes.http) };
}
