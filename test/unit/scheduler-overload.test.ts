import { expect } from 'chai';
import { Admission, IntervalMeter, TokenBucket } from '../../server/src/monitoring/admission';
import { confirming } from '../../server/src/monitoring/checks';
import type { Point } from '../../server/src/monitoring/points';
import { Intake, routineNext, Scheduler, type Job, type Timers } from '../../server/src/monitoring/scheduler';
import { initialState } from '../../server/src/monitoring/state-machine';
import { storelessEngine } from '../fixtures/polling';

/** A clock and timers that only move when told to (no test here depends on the machine's speed). */
class FakeClock implements Timers {
  t: number;
  private readonly due = new Map<number, Array<{ fn: () => void; live: boolean }>>();

  constructor(start: number) {
    this.t = start;
  }

  now = (): number => this.t;

  set = (fn: () => void, ms: number): unknown => {
    const at = this.t + Math.max(0, ms);
    const h = { fn, live: true };
    const list = this.due.get(at);
    if (list) list.push(h);
    else this.due.set(at, [h]);
    return h;
  };

  clear = (h: unknown): void => {
    (h as { live: boolean }).live = false;
  };

  /** Fires every timer due up to `to`, in time order, moving the clock to each. */
  runUntil(to: number): void {
    for (;;) {
      let next = Infinity;
      for (const at of this.due.keys()) if (at < next) next = at;
      if (next > to) break;
      const list = this.due.get(next) ?? [];
      this.due.delete(next);
      this.t = next;
      for (const h of list) if (h.live) h.fn();
    }
    this.t = to;
  }
}

interface SimJob extends Job {
  intervalMs: number;
  lastRunAt: number;
  runs: number[];
  urgentNext: boolean;
}
const simJob = (id: string, intervalMs = 60_000): SimJob => ({ id, dueAt: 0, qIndex: -1, running: false, removed: false, intervalMs, lastRunAt: 0, runs: [], urgentNext: false });

/**
 * A scheduler on the fake clock whose checks take `checkMs` and then come due the way the engine's check
 * runner decides (routineNext; `urgentNext` jobs go to the confirmation lane after `retryMs`).
 */
function simulate(clock: FakeClock, opts: { tickMs: number; gate?: TokenBucket; checkMs?: number; retryMs?: number; onRun?: (j: SimJob, at: number) => void; engineFloor?: boolean }): Scheduler<SimJob> {
  const s: Scheduler<SimJob> = new Scheduler<SimJob>({
    concurrency: 100_000,
    tickMs: opts.tickMs,
    now: clock.now,
    timers: clock,
    gate: opts.gate,
    // the engine's 1 s at a 60 s interval, scaled to the 3 s intervals of most tests here
    stretchFloorMs: opts.engineFloor ? undefined : 50,
    run: (j, lag, done) => {
      const at = clock.now();
      const first = j.lastRunAt === 0;
      j.lastRunAt = at;
      j.runs.push(at);
      opts.onRun?.(j, at);
      clock.set(() => {
        if (j.urgentNext) done(at + (opts.retryMs ?? 5000), true);
        else done(routineNext(j.id, j.dueAt, j.intervalMs, s.stretchMs, lag, clock.now(), first));
      }, opts.checkMs ?? 20);
      return undefined;
    },
  });
  return s;
}

/** `count` jobs at `intervalMs` on a fake clock from `t0`, dispatched through a gate (`rate` checks a second; none: unlimited). */
function gated(t0: number, count: number, intervalMs: number, opts: { rate?: number; engineFloor?: boolean } = {}): { clock: FakeClock; gate: TokenBucket; jobs: SimJob[]; s: Scheduler<SimJob> } {
  const clock = new FakeClock(t0);
  const gate = new TokenBucket(100);
  if (opts.rate !== undefined) gate.setRate(opts.rate);
  const jobs = Array.from({ length: count }, (_, i) => simJob(`cam-${i}`, intervalMs));
  const s = simulate(clock, { tickMs: 50, gate, engineFloor: opts.engineFloor });
  return { clock, gate, jobs, s };
}

describe('scheduler under overload: confirmations first', () => {
  it('when capacity allows one check per tick, then a PENDING point’s re-check goes before routine checks that came due earlier', () => {
    const t0 = 1_000_000;
    const clock = new FakeClock(t0);
    const gate = new TokenBucket(100);
    gate.setRate(10); // one dispatch per 100 ms tick
    const order: string[] = [];
    const s = simulate(clock, { tickMs: 100, gate, onRun: (j) => order.push(j.id) });
    const routine = Array.from({ length: 100 }, (_, i) => simJob(`routine-${i}`));
    routine.forEach((j, i) => s.schedule(j, t0 + i));
    // its routine check fails (it turns PENDING): the check runner puts its re-check in the confirmation
    // lane, one retry interval (5 s) later
    const pending = simJob('pending');
    pending.urgentNext = true;
    s.schedule(pending, t0 - 1);
    s.start();
    clock.runUntil(t0 + 5200);
    expect(order[0]).to.equal('pending');
    const retryAt = pending.runs[1];
    expect(retryAt, order.join(',')).to.be.within(t0 + 5000, t0 + 5100);
    // at that tick dozens of routine checks that came due up to 5 s earlier were still waiting: the one
    // dispatch of the tick went to the re-check
    const overtaken = routine.filter((j) => j.runs.length === 0 || j.runs[0] > retryAt);
    expect(overtaken.length).to.be.greaterThan(40);
    // (routine-i came due at t0 + i)
    for (const j of overtaken) expect(t0 + Number(j.id.slice('routine-'.length))).to.be.below(retryAt - 4900);
    // and the re-check went at the first tick it was due, not after them
    expect(routine.filter((j) => j.runs[0] !== undefined && j.runs[0] >= t0 + 5000 && j.runs[0] <= retryAt)).to.have.length(0);
    void s.stop();
  });

  it('when both lanes hold due jobs, then each tick’s single dispatch goes to the urgent lane first', () => {
    const t0 = 2_000_000;
    const clock = new FakeClock(t0);
    const gate = new TokenBucket(100);
    gate.setRate(10);
    const order: string[] = [];
    const s = simulate(clock, { tickMs: 100, gate, checkMs: 1_000_000, onRun: (j) => order.push(j.id) });
    for (let i = 0; i < 5; i++) s.schedule(simJob(`routine-${i}`), t0 - 10_000 + i);
    s.schedule(simJob('confirm-a'), t0 - 10, true);
    s.schedule(simJob('confirm-b'), t0 - 5, true);
    s.start();
    clock.runUntil(t0 + 700);
    expect(order.slice(0, 4)).to.deep.equal(['confirm-a', 'confirm-b', 'routine-0', 'routine-1']);
    void s.stop();
  });

  it('when a point is PENDING, or DOWN after a success, then its next check is a confirmation; UP and DOWN are routine', () => {
    const p = (state: Point['m']['state'], successes = 0): Point => ({ m: { ...initialState(0, true, true), state, successes } }) as Point;
    expect(confirming(p('PENDING'))).to.equal(true);
    expect(confirming(p('DOWN', 1))).to.equal(true);
    expect(confirming(p('DOWN'))).to.equal(false);
    expect(confirming(p('UP'))).to.equal(false);
  });
});

describe('scheduler under overload: intervals stretch evenly', () => {
  it('when capacity is a third short, then every point is still checked at least once per 2× its interval and intervals stretch about 1.5×', () => {
    const t0 = 3_000_000;
    const intervalMs = 3000;
    // demand 100 checks/s, capacity 2/3 of it
    const { clock, jobs, s } = gated(t0, 300, intervalMs, { rate: 66.7 });
    for (const j of jobs) s.schedule(j, t0 + ((j.id.length * 7919 + Number(j.id.slice(4)) * 10) % intervalMs));
    s.start();
    clock.runUntil(t0 + 120_000);
    const warm = t0 + 30_000;
    let worst = 0;
    let sum = 0;
    let n = 0;
    for (const j of jobs) {
      const runs = j.runs.filter((r) => r >= warm);
      expect(runs.length, j.id).to.be.greaterThan(10);
      for (let i = 1; i < runs.length; i++) {
        const gap = runs[i] - runs[i - 1];
        worst = Math.max(worst, gap);
        sum += gap;
        n++;
      }
      worst = Math.max(worst, t0 + 120_000 - runs[runs.length - 1]);
    }
    expect(worst).to.be.at.most(2 * intervalMs);
    expect(sum / n).to.be.within(1.35 * intervalMs, 1.65 * intervalMs);
    expect(s.stretchMs).to.be.greaterThan(0);
    void s.stop();
  });

  it('when intervals stretch by 20 s and a check ran only 2 s late, then its next check is due no more than one interval after it ran', () => {
    const intervalMs = 30_000;
    const dueAt = 1_000_000;
    const ranAt = dueAt + 2_000;
    const next = routineNext('cam-1', dueAt, intervalMs, 20_000, 2_000, ranAt + 20, false);
    expect(next - ranAt).to.be.at.most(intervalMs);
    // a check that waited as long as the average stretch gets all of it
    expect(routineNext('cam-1', dueAt, intervalMs, 20_000, 25_000, dueAt + 25_020, false)).to.equal(dueAt + intervalMs + 20_000);
    // on time, nothing stretches: the point keeps its phase
    expect(routineNext('cam-1', dueAt, intervalMs, 0, 5, dueAt + 30, false)).to.equal(dueAt + intervalMs);
  });

  // The overload bench restarts the engine at 1.5× its capacity and measures from the 5th interval on
  // (--settle-intervals 4): this is the transient it leaves out, and the steady state it measures.
  it('when the engine restarts a third short (every point due within its first interval), then gaps stay within 2× through the transient and within 1.6× from the 5th interval', () => {
    const t0 = 5_000_000;
    const intervalMs = 32_000;
    // 3,000 points at 32 s want 93.75 checks a second; capacity 2/3 of it
    const { clock, jobs, s } = gated(t0, 3000, intervalMs, { rate: 3000 / 32 / 1.5, engineFloor: true });
    jobs.forEach((j, i) => s.schedule(j, t0 + ((i * 7919) % intervalMs)));
    s.start();
    clock.runUntil(t0 + 12 * intervalMs);
    const worst = [0, 0];
    for (const j of jobs) {
      for (let i = 1; i < j.runs.length; i++) {
        const ratio = (j.runs[i] - j.runs[i - 1]) / intervalMs;
        const late = j.runs[i] >= t0 + 4 * intervalMs ? 1 : 0;
        worst[late] = Math.max(worst[late], ratio);
      }
    }
    expect(worst[0], 'transient').to.be.at.most(2.02);
    expect(worst[1], 'steady').to.be.at.most(1.6);
    void s.stop();
  });

  it('when the gate binds for a moment and routine checks run less than a second late, then 60 s intervals do not stretch', () => {
    const t0 = 5_000_000;
    // 6,000 points at 60 s: 100 checks a second
    const { clock, gate, jobs, s } = gated(t0, 6000, 60_000, { engineFloor: true });
    jobs.forEach((j, i) => s.schedule(j, t0 + i * 10));
    s.start();
    clock.runUntil(t0 + 10_000);
    // two seconds at 60 % of the demand (a stall), then capacity is back
    gate.setRate(60);
    clock.runUntil(t0 + 12_000);
    gate.setRate(Infinity);
    let most = 0;
    for (let t = t0 + 12_000; t < t0 + 20_000; t += 50) {
      clock.runUntil(t);
      most = Math.max(most, s.stretchMs);
    }
    expect(most).to.equal(0);
    void s.stop();
  });

  it('when the overload ends, then the stretch goes back to 0 and points keep their set interval again', () => {
    const t0 = 4_000_000;
    const intervalMs = 3000;
    const { clock, gate, jobs, s } = gated(t0, 300, intervalMs, { rate: 60 });
    jobs.forEach((j, i) => s.schedule(j, t0 + i * 10));
    s.start();
    clock.runUntil(t0 + 60_000);
    expect(s.stretchMs).to.be.greaterThan(500);
    gate.setRate(Infinity);
    clock.runUntil(t0 + 120_000);
    expect(s.stretchMs).to.equal(0);
    for (const j of jobs) {
      const last = j.runs.slice(-3);
      expect(last[2] - last[1]).to.be.within(intervalMs - 60, intervalMs + 60);
    }
    void s.stop();
  });
});

describe('monitoring: the longest gap after an interval change', () => {
  // The overload bench of 2026-12-03 read 2.8–4× its interval as the longest gap: points last checked under the
  // calibration's 20 s interval, then set to 25–43 s, were measured from that old check against the new interval.
  it('when a point checked 100 s ago gets a new interval, then its gap counts from the change, not from that check', () => {
    const { service, add, point } = storelessEngine();
    add('cam-1', 20);
    const p = point('cam-1');
    const now = Date.now();
    p.lastRunAt = now - 100_000;
    expect(service.longestGapRatio(now)).to.be.within(4.9, 5.1);
    add('cam-1', 25);
    expect(service.longestGapRatio(now + 1_000)).to.be.below(0.1);
    // an unchanged interval (the periodic resync hands every point in again) keeps the gap running
    p.lastRunAt = now - 100_000;
    add('cam-1', 25);
    expect(service.longestGapRatio(now)).to.be.within(3.9, 4.1);
  });
});

describe('scheduler: points added in bulk (issue 16)', function () {
  this.timeout(60_000);

  it('when 100,000 points are imported at once, then no 1-second window holds more than 2× the average share of checks', () => {
    const t0 = 5_000_000;
    const clock = new FakeClock(t0);
    const intervalMs = 60_000;
    const perSecond = new Map<number, number>();
    const s = simulate(clock, {
      tickMs: 50,
      onRun: (_j, at) => {
        const sec = Math.floor((at - t0) / 1000);
        perSecond.set(sec, (perSecond.get(sec) ?? 0) + 1);
      },
    });
    s.start();
    // the import: every point arrives in the same second, each first check placed by the engine's intake
    const intake = new Intake();
    const jobs = Array.from({ length: 100_000 }, (_, i) => simJob(`import-${i}`, intervalMs));
    for (const j of jobs) s.schedule(j, intake.firstDue(clock.now()));
    const horizonS = 5 * 60;
    clock.runUntil(t0 + horizonS * 1000);
    const average = jobs.length / (intervalMs / 1000);
    const busiest = Math.max(...perSecond.values());
    expect(busiest, `busiest second: ${busiest} checks, average ${average.toFixed(0)}`).to.be.at.most(2 * average);
    // and they were really checked, over and over: at least 3 times each in 5 minutes
    for (const j of jobs) expect(j.runs.length).to.be.at.least(3);
    // no second of the steady state (after the first checks) is empty: spread over the whole interval
    for (let sec = 120; sec < horizonS; sec++) expect(perSecond.get(sec) ?? 0, `second ${sec}`).to.be.greaterThan(average / 2);
    void s.stop();
  });

  it('when one point is added by hand, then its first check is due at once', () => {
    const intake = new Intake();
    expect(intake.firstDue(10_000)).to.equal(10_000);
    expect(intake.firstDue(50_000)).to.equal(50_000);
  });
});

describe('admission control', () => {
  it('when the event-loop delay nears the target, then the rate is cut below what was achieved; when calm and limited, it grows again', () => {
    const a = new Admission({ targetDelayMs: 50, tickMs: 50 });
    expect(a.bucket.rate).to.equal(Infinity);
    a.step(45, 0.7, 4000, false);
    expect(a.bucket.rate).to.be.below(4000);
    const cut = a.bucket.rate;
    a.step(120, 0.99, cut, true);
    expect(a.bucket.rate).to.be.below(cut * 0.8);
    const low = a.bucket.rate;
    a.step(5, 0.5, low, true);
    expect(a.bucket.rate).to.be.greaterThan(low);
  });

  it('when a busy second\'s p99 is over 70 % of the target (under 80 %), then the rate is cut: the set point leaves room for the pauses no rate can steer', () => {
    // the overload bench aiming at 80 % of a 50 ms target: p99 over the run 46–52 ms (BENCHMARKS.md, 2026-12-03 14:12–16:16)
    const a = new Admission({ targetDelayMs: 50, tickMs: 50 });
    a.step(37, 0.8, 6000, false);
    expect(a.bucket.rate).to.be.within(6000 * 0.8, 6000 * 0.86);
    // under 70 % nothing is cut
    const b = new Admission({ targetDelayMs: 50, tickMs: 50 });
    b.step(33, 0.8, 6000, false);
    expect(b.bucket.rate).to.equal(Infinity);
  });

  it('when calm after a cut, then the rate climbs fast back to 90 % of the rate that was cut and probes slowly above it, not past it within two seconds', () => {
    // seen at 300,000 points under overload: ×1.15 a calm second climbed past the rate that had been too much, and
    // the hot second after it (p99 183 ms, ELU 1.0) put the bench's event-loop p99 over 50 ms
    const a = new Admission({ targetDelayMs: 50, tickMs: 50 });
    a.step(60, 0.97, 9000, false);
    const cut = a.bucket.rate;
    expect(cut).to.be.within(9000 * 0.84, 9000 * 0.86);
    const seen: number[] = [];
    for (let i = 0; i < 6; i++) {
      a.step(5, 0.5, a.bucket.rate, true);
      seen.push(a.bucket.rate);
    }
    expect(seen[0]).to.equal(9000 * 0.9); // 7,650 × 1.15 + 20 would be 8,817: capped at the knee, 8,100
    for (let i = 1; i < seen.length; i++) expect(seen[i] / seen[i - 1]).to.be.within(1.02, 1.04);
    expect(seen[1]).to.be.below(9000);
    // never held under the usual rate: a cut for other work's heat is climbed back at once
    const b = new Admission({ targetDelayMs: 50, tickMs: 50 });
    for (let i = 0; i < 12; i++) b.step(5, 0.4, 2500, false, { p90Ms: 2, maxMs: 10 });
    for (let i = 0; i < 6; i++) b.step(80, 0.99, 2500, false, { p90Ms: 60, maxMs: 90 });
    expect(b.bucket.rate).to.be.below(2500);
    for (let i = 0; i < 3; i++) b.step(5, 0.5, b.bucket.rate, true);
    expect(b.bucket.rate).to.be.at.least(2500);
  });

  it('when one second stalls (a GC pause: the loop saturated, dispatches far below their allowance), then the rate is not cut to what that second achieved', () => {
    const a = new Admission({ targetDelayMs: 50, tickMs: 50 });
    a.step(60, 0.97, 3000, false);
    const before = a.bucket.rate;
    expect(before).to.be.within(2000, 3000);
    // seen at 300,000 points: one such second cut the rate to the 500 floor, and climbing back took half a minute
    a.step(900, 1, 150, true);
    expect(a.bucket.rate).to.equal(before);
    // a busy loop the dispatches did cause is still cut, from the rate in force
    a.step(80, 0.98, before, true);
    expect(a.bucket.rate).to.be.within(before * 0.6, before * 0.86);
  });

  it('when the engine keeps up and one second holds a single long pause (a major GC), then the rate stays unlimited; a loop slow all second is still cut', () => {
    const a = new Admission({ targetDelayMs: 50, tickMs: 50 });
    // seen at 150,000 points (2,500 checks/s, carried): a 742 ms pause, the rest of the second responsive; cutting
    // to 0.7× the achieved rate left routine checks over a second late while the rate climbed back
    a.step(742, 0.98, 2500, false, { p90Ms: 3, maxMs: 742 });
    expect(a.bucket.rate).to.equal(Infinity);
    for (let i = 0; i < 10; i++) a.step(5, 0.6, 2500, false, { p90Ms: 1, maxMs: 12 });
    expect(a.bucket.rate).to.equal(Infinity);
    // the same p99 with the loop slow through the second: put down to other work for 5 s at the engine's usual
    // rate (the test above), then it is the engine's load: cut
    for (let i = 0; i < 5; i++) a.step(742, 0.98, 2500, false, { p90Ms: 120, maxMs: 742 });
    expect(a.bucket.rate).to.equal(Infinity);
    a.step(742, 0.98, 2500, false, { p90Ms: 120, maxMs: 742 });
    expect(a.bucket.rate).to.be.within(500, 2500 * 0.86);
    // and a pause while limited neither cuts nor lets the rate climb
    const limited = a.bucket.rate;
    a.step(400, 0.99, limited, true, { p90Ms: 4, maxMs: 400 });
    expect(a.bucket.rate).to.equal(limited);
  });

  it('when other work heats the loop while the engine, unlimited, dispatches at its usual rate, then the rate is not cut for up to 5 s; heat from more checks, under a limit or that stays is', () => {
    const a = new Admission({ targetDelayMs: 50, tickMs: 50 });
    // seen at 150,000 points (2,500 checks/s at a loop 30-40 % busy): the registry's resync held the loop for
    // 4 s; each of those seconds cut the rate (to 1,074 a second) and the routine checks fell 4 s behind
    for (let i = 0; i < 10; i++) a.step(6, 0.35, 2500, false, { p90Ms: 2, maxMs: 10 });
    a.step(414, 1, 2499, false, { p90Ms: 112, maxMs: 414 });
    expect(a.bucket.rate).to.equal(Infinity);
    a.step(62, 0.97, 2500, false, { p90Ms: 35, maxMs: 62 });
    expect(a.bucket.rate).to.equal(Infinity);
    // the engine dispatching more than its usual rate heats the loop itself: cut
    a.step(80, 0.99, 4000, false, { p90Ms: 60, maxMs: 90 });
    expect(a.bucket.rate).to.be.within(500, 4000 * 0.86);
    // and once a limit is in force, heat at the usual rate is cut as before (the controller is at work)
    const limit = a.bucket.rate;
    a.step(80, 0.99, 2500, true, { p90Ms: 60, maxMs: 90 });
    expect(a.bucket.rate).to.be.below(limit);
    // heat that stays at the usual rate is a slower machine (each check costs more than it did): cut after 5 s
    const c = new Admission({ targetDelayMs: 50, tickMs: 50 });
    for (let i = 0; i < 10; i++) c.step(6, 0.35, 2500, false, { p90Ms: 2, maxMs: 10 });
    for (let i = 0; i < 5; i++) c.step(70, 0.97, 2500, false, { p90Ms: 40, maxMs: 90 });
    expect(c.bucket.rate).to.equal(Infinity);
    c.step(70, 0.97, 2500, false, { p90Ms: 40, maxMs: 90 });
    expect(c.bucket.rate).to.be.within(500, 2500 * 0.86);
  });

  it('when the loop is hot every other second at the usual rate (a bursty overload), then the calm seconds between do not renew the allowance: cut by the 6th hot second', () => {
    const a = new Admission({ targetDelayMs: 50, tickMs: 50 });
    for (let i = 0; i < 10; i++) a.step(6, 0.35, 2500, false, { p90Ms: 2, maxMs: 10 });
    for (let i = 0; i < 5; i++) {
      a.step(90, 0.99, 2500, false, { p90Ms: 60, maxMs: 120 });
      a.step(6, 0.5, 2500, false, { p90Ms: 2, maxMs: 10 });
    }
    expect(a.bucket.rate).to.equal(Infinity);
    a.step(90, 0.99, 2500, false, { p90Ms: 60, maxMs: 120 });
    expect(a.bucket.rate).to.be.within(500, 2500 * 0.86);
  });

  it('when calm seconds come only between hot ones, then no usual rate is learned from them and a hot loop is cut at once', () => {
    // the overload bench's calibration (3× demand) had calm seconds at ~9,000 checks/s between hot ones: learned
    // as the usual rate, they kept the engine unlimited and the event loop's p99 went to 63 ms
    const a = new Admission({ targetDelayMs: 50, tickMs: 50 });
    for (let i = 0; i < 5; i++) {
      a.step(6, 0.5, 9000, false, { p90Ms: 2, maxMs: 10 });
      a.step(6, 0.5, 9000, false, { p90Ms: 2, maxMs: 10 });
      a.step(90, 0.99, 9000, false, { p90Ms: 60, maxMs: 120 });
      if (a.bucket.rate < Infinity) break;
    }
    expect(a.bucket.rate).to.be.within(500, 9000 * 0.86);
  });

  it('when an engine overloaded from its start never had a calm second, then a hot loop is cut as before', () => {
    const a = new Admission({ targetDelayMs: 50, tickMs: 50 });
    a.step(414, 1, 2499, false, { p90Ms: 112, maxMs: 414 });
    expect(a.bucket.rate).to.be.within(500, 2500 * 0.71);
  });

  it('when the loop stays calm and nothing waits for half a minute, then the limit is lifted', () => {
    const a = new Admission({ targetDelayMs: 50, tickMs: 50 });
    a.step(100, 0.99, 3000, false);
    expect(a.bucket.rate).to.be.below(Infinity);
    for (let i = 0; i < 30; i++) a.step(2, 0.3, 1000, false);
    expect(a.bucket.rate).to.equal(Infinity);
  });

  it('when a fixed ceiling is set, then the bucket never allows more, even with the loop idle', () => {
    const a = new Admission({ targetDelayMs: 50, tickMs: 50, maxPerSec: 5 });
    expect(a.bucket.rate).to.equal(5);
    for (let i = 0; i < 40; i++) a.step(0, 0.1, 5, true);
    expect(a.bucket.rate).to.equal(5);
  });

  it('when the bucket allows 10 a second, then 2 s of asking grants about 20', () => {
    const b = new TokenBucket(100);
    b.setRate(10);
    let granted = 0;
    for (let t = 0; t <= 2000; t += 5) if (b.take(t)) granted++;
    expect(granted).to.be.within(19, 22);
    expect(b.nextAt(2000)).to.be.greaterThan(2000);
  });

  it('when gaps are recorded, then the window reports their mean, the set interval and the longest ratio', () => {
    const m = new IntervalMeter(1000);
    m.roll(0);
    m.record(90_000, 60_000);
    m.record(60_000, 60_000);
    const w = m.roll(1000);
    expect(w).to.deep.equal({ effectiveMs: 75_000, setMs: 60_000, maxGapRatio: 1.5, checks: 2 });
    // a quiet window keeps the last figure
    expect(m.roll(2000)).to.deep.equal(w);
  });
});

describe('scheduler: dispatch slices', () => {
  it('when more jobs are due than a slice holds, then a slice goes out at once and the rest after the loop has turned', async () => {
    let started = 0;
    const s = new Scheduler<SimJob>({ concurrency: 10_000, slice: 48, run: () => void started++ });
    const now = Date.now();
    for (let i = 0; i < 200; i++) s.schedule(simJob(`cam-${i}`), now - 1);
    s.start();
    // only one slice runs inside start(): timers and I/O callbacks get their turn before the next
    expect(started).to.equal(48);
    let turns = 0;
    while (started < 200 && turns < 10) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      turns++;
    }
    expect(started).to.equal(200);
    expect(turns).to.be.at.least(4);
    await Promise.race([s.stop(), Promise.resolve()]);
  });

  it('when the gate does not bound the rate, then a tick\'s whole batch (up to freeSlice) goes out at once; while it binds, slices of 48', () => {
    const startWith = (gate: TokenBucket): number => {
      let started = 0;
      const s = new Scheduler<SimJob>({ concurrency: 10_000, slice: 48, freeSlice: 512, gate, run: () => void started++ });
      const now = Date.now();
      for (let i = 0; i < 300; i++) s.schedule(simJob(`cam-${i}`), now - 1);
      s.start();
      void s.stop();
      return started;
    };
    const free = new TokenBucket(100);
    expect(free.bounded).to.equal(false);
    expect(startWith(free)).to.equal(300);
    // bounded at a rate far above what is due: the limit is not what holds dispatch back, the slice is
    const bounded = new TokenBucket(100);
    bounded.setRate(1e9);
    expect(bounded.bounded).to.equal(true);
    expect(startWith(bounded)).to.equal(48);
  });

  it('when an unbounded burst is larger than freeSlice, then it still yields between pieces of freeSlice', () => {
    let started = 0;
    const s = new Scheduler<SimJob>({ concurrency: 10_000, slice: 48, freeSlice: 512, gate: new TokenBucket(100), run: () => void started++ });
    const now = Date.now();
    for (let i = 0; i < 2000; i++) s.schedule(simJob(`cam-${i}`), now - 1);
    s.start();
    expect(started).to.equal(512);
    void s.stop();
  });
});

describe('scheduler at nominal load: dispatch on the tick', () => {
  it('when checks come due between ticks and answer at once, then each leaves within half a tick of its due time, early or late', () => {
    // Released only once due, a check that came due after the previous tick's answers were in waited for the
    // next tick: up to a whole tick late, and the sooner the answers came, the later the checks ran.
    const clock = new FakeClock(1_000_003);
    const offsets: number[] = [];
    const s = simulate(clock, { tickMs: 50, checkMs: 2, onRun: (j, at) => offsets.push(at - j.dueAt) });
    const jobs = Array.from({ length: 3000 }, (_, i) => simJob(`cam-${i}`, 60_000));
    // due times on every millisecond of the interval, none on the tick grid by design
    jobs.forEach((j, i) => s.schedule(j, clock.now() + ((i * 7919) % 60_000)));
    s.start();
    clock.runUntil(clock.now() + 125_000);
    expect(offsets.length).to.be.greaterThan(6000);
    expect(Math.min(...offsets)).to.be.at.least(-25);
    expect(Math.max(...offsets)).to.be.at.most(25);
    const lateness = offsets.reduce((a, o) => a + Math.max(0, o), 0) / offsets.length;
    expect(lateness).to.be.lessThan(10);
    void s.stop();
  });

  it('when a check leaves early, then its lag is 0 and its next check keeps the point’s phase', () => {
    const clock = new FakeClock(2_000_000);
    const lags: number[] = [];
    const runs: number[] = [];
    const s = new Scheduler<SimJob>({
      concurrency: 10,
      tickMs: 50,
      now: clock.now,
      timers: clock,
      run: (j, lag, done) => {
        lags.push(lag);
        runs.push(clock.now());
        clock.set(() => done(routineNext(j.id, j.dueAt, 60_000, s.stretchMs, lag, clock.now(), false)), 1);
        return undefined;
      },
    });
    const j = simJob('cam-early');
    s.schedule(j, 2_000_020); // 20 ms after the tick at 2,000,000: released by it
    s.start();
    clock.runUntil(2_000_000 + 130_000);
    expect(runs).to.deep.equal([2_000_000, 2_060_000, 2_120_000]);
    expect(lags).to.deep.equal([0, 0, 0]);
    void s.stop();
  });
});
