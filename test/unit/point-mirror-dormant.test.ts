import { expect } from 'chai';
import { loadConfig } from '../../server/src/config';
import { createLogger } from '../../server/src/lib/logger';
import { DormantPoints, type DormantFacts } from '../../server/src/monitoring/dormant';
import type { Transition } from '../../server/src/monitoring/events';
import { MonitoringService, type PointConfig } from '../../server/src/monitoring/service';
import { initialState, states, type PointState } from '../../server/src/monitoring/state-machine';
import { heapUsedAfterGc } from '../../scripts/heap-used';

const config = loadConfig({}, { LOG_LEVEL: 'silent', MONITOR_ENABLED: 'true' });
/** Shanghai wall-clock time → epoch ms (UTC+8). */
const sh = (d: number, h: number, mi = 0, s = 0, ms = 0): number => Date.UTC(2026, 5, d, h - 8, mi, s, ms);

function engine(): MonitoringService {
  // no store: nothing here flushes (writes stay in the buffers the tests read)
  return new MonitoringService({ config, logger: createLogger('silent'), conn: {} as never });
}

function cfg(id: string, enabled: boolean, host: string | null, regionId = 'r1'): PointConfig {
  return { id, regionId, enabled, endpoint: { host, rtspPort: 554, rtspPath: '/Streaming/Channels/101' }, probe: { kind: 'rtsp', intervalSec: 60, timeoutMs: 3000, retries: 3 } };
}

/** Runs `fn` with Date.now() reading `at`. */
function at<T>(t: number, fn: () => T): T {
  const real = Date.now;
  Date.now = () => t;
  try {
    return fn();
  } finally {
    Date.now = real;
  }
}

describe('point mirror: points that are not probed', () => {
  it('when 20,000 disabled and 20,000 not-connected points are added, then the engine keeps under 200 bytes each (it kept ~600)', () => {
    const used = heapUsedAfterGc;
    const n = 20_000;
    // ids exist before (the registry's strings): what is measured is what the engine adds
    const ids = Array.from({ length: 2 * n }, (_, i) => (0x6570_0000_0000 + i).toString(16).padStart(24, '0'));
    const service = engine();
    const before = used();
    for (let i = 0; i < 2 * n; i++) {
      const disabled = i < n;
      const state = disabled ? 'DISABLED' : 'NOT_CONNECTED';
      service.upsertPoint(cfg(ids[i], !disabled, disabled ? `10.1.${(i >> 8) & 255}.${i & 255}` : null, `r${i % 50}`), { state, confirmed: state, since: new Date(sh(1, 10) + i), seq: 1, lastCheckAt: null, rttMs: null, flapping: false, reason: null });
    }
    const perPoint = (used() - before) / (2 * n);
    expect(service.pointCount).to.equal(2 * n);
    expect(perPoint).to.be.below(200);
  });

  it('when a restored point sleeps, then its status reads as stored, and enabling it announces the next seq', () => {
    const service = engine();
    const seen: Transition[] = [];
    service.feed.subscribe((t) => seen.push(t));
    const lastCheckAt = new Date(sh(1, 9, 59, 58, 123));
    at(sh(1, 10), () =>
      service.upsertPoint(cfg('a', false, '10.0.0.1'), { state: 'DISABLED', confirmed: 'DISABLED', since: new Date(sh(1, 9, 0, 0, 7)), lastCheckAt, rttMs: 1.234, reason: 'ok', seq: 41, flapping: false }),
    );
    expect(service.status('a')).to.deep.equal({
      cameraId: 'a',
      state: 'DISABLED',
      confirmed: 'DISABLED',
      since: new Date(sh(1, 9, 0, 0, 7)).toISOString(),
      lastCheckAt: lastCheckAt.toISOString(),
      rttMs: 1.234,
      flapping: false,
      reason: 'ok',
      consecutiveFailures: 0,
      maintenance: false,
      nextCheckAt: null,
    });
    at(sh(1, 10, 5), () => service.upsertPoint(cfg('a', true, '10.0.0.1')));
    expect(seen.map((t) => [t.from, t.to, t.seq])).to.deep.equal([['DISABLED', 'UNKNOWN', 42]]);
    expect(service.status('a')?.nextCheckAt).to.not.equal(null);
  });

  it('when a not-connected point gets a maintenance mark while asleep, then the mark is kept and giving it a host enters MAINTENANCE', () => {
    const service = engine();
    const seen: Transition[] = [];
    service.feed.subscribe((t) => seen.push(t));
    at(sh(1, 10), () => service.upsertPoint(cfg('b', true, null)));
    expect(service.setMaintenance('b', true).state).to.equal('NOT_CONNECTED');
    expect(service.inMaintenance('b')).to.equal(true);
    at(sh(1, 10, 1), () => service.upsertPoint(cfg('b', true, '10.0.0.2')));
    expect(seen.map((t) => `${t.from}>${t.to}`)).to.deep.equal(['NOT_CONNECTED>MAINTENANCE']);
  });

  it('when a point is disabled, sleeps across hours and a history pass comes by, then its time is accounted exactly: UP until the disable, DISABLED after, per hour', () => {
    const service = engine();
    const id = 'c';
    at(sh(1, 10, 0, 0, 400), () => service.upsertPoint(cfg(id, true, '10.0.0.3'), { state: 'UP', confirmed: 'UP', since: new Date(sh(1, 9)), seq: 3, lastCheckAt: null, rttMs: null, flapping: false, reason: null }));
    at(sh(1, 10, 30, 0, 700), () => service.upsertPoint(cfg(id, false, '10.0.0.3')));
    // asleep now: a resync that hands the same settings in changes nothing
    at(sh(1, 11, 15), () => service.upsertPoint(cfg(id, false, '10.0.0.3')));
    at(sh(1, 12, 0, 0, 700), () => {
      service.startSpillPass();
      service.spillSlice();
    });
    expect(service.spilling).to.equal(false);
    const byHour = new Map<number, number[]>();
    for (const d of service.store.history.pending(id)) byHour.set(d.hour, d.sec);
    // categories: u d m n c x (history-store.ts)
    expect(Object.fromEntries(byHour)).to.deep.equal({ 10: [1800, 0, 0, 0, 0, 1800], 11: [0, 0, 0, 0, 0, 3600] });
  });

  it('when the metrics count points, then sleeping ones count by their state', () => {
    const service = engine();
    service.upsertPoint(cfg('d1', false, '10.0.0.4'));
    service.upsertPoint(cfg('d2', true, null));
    service.upsertPoint(cfg('d3', true, '10.0.0.5'));
    expect(service.pointCount).to.equal(3);
    expect(service.hasPoint('d1')).to.equal(true);
    service.removePoint('d1');
    expect(service.hasPoint('d1')).to.equal(false);
    expect(service.status('d2')?.state).to.equal('NOT_CONNECTED');
    expect(service.status('d3')?.state).to.equal('UNKNOWN');
  });
});

describe('dormant table', () => {
  it('when machine states are stored and taken back at random, then each comes back equal (times to the second where said)', () => {
    const table = new DormantPoints();
    let seed = 7;
    const rnd = (n: number): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed % n;
    };
    const kept = new Map<string, { f: DormantFacts; m: PointState }>();
    for (let i = 0; i < 5000; i++) {
      const id = `p${rnd(400)}`;
      const had = kept.get(id);
      if (had) {
        const back = table.take(id);
        expect(back?.m).to.deep.equal(had.m);
        expect(back?.facts).to.deep.equal({ ...had.f, acctSince: Math.floor(had.f.acctSince / 1000) * 1000 });
        kept.delete(id);
        continue;
      }
      const t = sh(1, 0) + rnd(1e9);
      const m = initialState(t + rnd(1000), true, rnd(2) === 0);
      m.state = states[rnd(states.length)];
      m.confirmed = m.state === 'PENDING' ? 'UNKNOWN' : m.state;
      m.seq = rnd(1e6);
      m.maintenance = rnd(2) === 0;
      if (rnd(2)) {
        m.lastCheckAt = t - rnd(1e6);
        m.rttMs = rnd(100_000) / 1000;
        m.reason = ['ok', 'timeout', 'refused: ECONNREFUSED'][rnd(3)];
      }
      if (rnd(4) === 0) {
        // an unusual one: counters and flap state a disable would have cleared
        m.failures = rnd(5);
        m.successes = rnd(5);
        m.hist = rnd(1 << 21);
        m.histLen = rnd(22);
        m.flapping = rnd(2) === 0;
        m.flapFrom = m.flapping ? 'UP' : null;
        m.failingSince = rnd(2) ? t : null;
      }
      const f: DormantFacts = { regionId: `r${rnd(9)}`, kind: (['tcp', 'rtsp', 'onvif', 'http'] as const)[rnd(4)], intervalMs: 1000 * (1 + rnd(600)), retries: rnd(11), enabled: rnd(2) === 0, connected: rnd(2) === 0, statusWrittenSec: rnd(2 ** 30) - 2 ** 29, acctSince: t - rnd(1e6) };
      table.put(id, f, m);
      kept.set(id, { f, m: { ...m } });
      expect(table.stateOf(id)).to.equal(m.state);
      expect(table.maintenanceOf(id)).to.equal(m.maintenance);
      expect(table.same(id, f.regionId, f.enabled, f.connected)).to.equal(true);
      expect(table.same(id, `r${rnd(9) + 9}`, f.enabled, f.connected)).to.equal(false);
      expect(table.same(id, 'a region never seen', f.enabled, f.connected)).to.equal(false);
      expect(table.same(id, f.regionId, !f.enabled, f.connected)).to.equal(false);
    }
    expect(table.size).to.equal(kept.size);
    expect([...table.ids()].sort()).to.deep.equal([...kept.keys()].sort());
    const by: Record<string, number> = {};
    const want: Record<string, number> = {};
    for (const { m } of kept.values()) want[m.state] = (want[m.state] ?? 0) + 1;
    expect(table.count(by)).to.equal([...kept.values()].filter((k) => k.m.flapping).length);
    expect(by).to.deep.equal(want);
  });
});
