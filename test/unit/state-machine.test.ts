import { expect } from 'chai';
import {
  defaultRules,
  flapPercent,
  initialState,
  steadyCheck,
  step,
  type MachineEvent,
  type MachineRules,
  type MachineTransition,
  type PointState,
} from '../../server/src/monitoring/state-machine';

let clock = 1_000_000;
const ok = (): MachineEvent => ({ kind: 'check', at: (clock += 1000), up: true, rttMs: 1, reason: 'ok' });
const fail = (): MachineEvent => ({ kind: 'check', at: (clock += 1000), up: false, rttMs: null, reason: 'timeout' });
const maint = (on: boolean): MachineEvent => ({ kind: 'maintenance', at: (clock += 1000), on });
const enabled = (on: boolean): MachineEvent => ({ kind: 'enabled', at: (clock += 1000), on });
const connected = (on: boolean): MachineEvent => ({ kind: 'connected', at: (clock += 1000), on });

function run(events: MachineEvent[], rules: MachineRules = defaultRules, start: PointState = initialState(clock)): { point: PointState; transitions: MachineTransition[] } {
  let point = start;
  const transitions: MachineTransition[] = [];
  for (const e of events) {
    const r = step(point, e, rules);
    point = r.point;
    if (r.transition) transitions.push(r.transition);
  }
  return { point, transitions };
}
const arrows = (ts: MachineTransition[]): string[] => ts.map((t) => `${t.from}>${t.to}${t.flapping ? '~' : ''}`);
const up = (): PointState => run([ok()]).point;
const down = (): PointState => run([fail(), fail(), fail()]).point;

describe('state machine (truth table of state-machine.ts)', () => {
  it('when UNKNOWN sees a success, then UP with one UNKNOWN>UP transition', () => {
    const r = run([ok()]);
    expect(r.point.state).to.equal('UP');
    expect(arrows(r.transitions)).to.deep.equal(['UNKNOWN>UP']);
  });

  it('when UNKNOWN sees fewer than N failures, then PENDING and no transition', () => {
    const r = run([fail(), fail()]);
    expect(r.point.state).to.equal('PENDING');
    expect(r.point.confirmed).to.equal('UNKNOWN');
    expect(r.transitions).to.have.length(0);
  });

  it('when UNKNOWN sees N failures, then DOWN with UNKNOWN>DOWN', () => {
    const r = run([fail(), fail(), fail()]);
    expect(r.point.state).to.equal('DOWN');
    expect(arrows(r.transitions)).to.deep.equal(['UNKNOWN>DOWN']);
  });

  it('when UP sees a success, then nothing is emitted', () => {
    const r = run([ok()], defaultRules, up());
    expect(r.point.state).to.equal('UP');
    expect(r.transitions).to.have.length(0);
  });

  it('when UP goes PENDING and back UP, then no event at all', () => {
    const r = run([fail(), fail(), ok()], defaultRules, up());
    expect(r.point.state).to.equal('UP');
    expect(r.transitions).to.have.length(0);
  });

  it('when UP sees N failures, then one UP>DOWN carrying when the failing began', () => {
    const first = fail();
    const r = run([first, fail(), fail()], defaultRules, up());
    expect(r.point.state).to.equal('DOWN');
    expect(arrows(r.transitions)).to.deep.equal(['UP>DOWN']);
    expect(r.transitions[0].failingSince).to.equal(first.at);
  });

  it('when DOWN keeps failing, then nothing more is emitted', () => {
    const r = run([fail(), fail(), fail(), fail()], defaultRules, down());
    expect(r.point.state).to.equal('DOWN');
    expect(r.transitions).to.have.length(0);
  });

  it('when DOWN sees a success and M=1, then DOWN>UP', () => {
    const r = run([ok()], defaultRules, down());
    expect(arrows(r.transitions)).to.deep.equal(['DOWN>UP']);
  });

  it('when DOWN sees fewer than M successes, then it stays DOWN', () => {
    const rules = { ...defaultRules, successesToUp: 2 };
    const r = run([ok()], rules, down());
    expect(r.point.state).to.equal('DOWN');
    expect(r.transitions).to.have.length(0);
    expect(arrows(run([ok(), ok()], rules, down()).transitions)).to.deep.equal(['DOWN>UP']);
  });

  it('when retries is 0 or 1, then the first failure confirms DOWN', () => {
    for (const n of [0, 1]) {
      const r = run([fail()], { ...defaultRules, failuresToDown: n }, up());
      expect(arrows(r.transitions)).to.deep.equal(['UP>DOWN']);
    }
  });

  it('when maintenance starts, then X>MAINTENANCE and checks change nothing during it', () => {
    const r = run([maint(true), fail(), fail(), fail(), fail()], defaultRules, up());
    expect(r.point.state).to.equal('MAINTENANCE');
    expect(arrows(r.transitions)).to.deep.equal(['UP>MAINTENANCE']);
  });

  it('when maintenance ends after failures, then MAINTENANCE>DOWN at once', () => {
    const r = run([maint(true), fail(), fail(), fail(), maint(false)], defaultRules, up());
    expect(r.point.state).to.equal('DOWN');
    expect(arrows(r.transitions)).to.deep.equal(['UP>MAINTENANCE', 'MAINTENANCE>DOWN']);
  });

  it('when maintenance ends after a success, then MAINTENANCE>UP', () => {
    const r = run([maint(true), ok(), maint(false)], defaultRules, down());
    expect(arrows(r.transitions)).to.deep.equal(['DOWN>MAINTENANCE', 'MAINTENANCE>UP']);
  });

  it('when maintenance ends undecided, then MAINTENANCE>UNKNOWN and the next checks decide', () => {
    const r = run([maint(true), maint(false), ok()], defaultRules, initialState(clock));
    expect(arrows(r.transitions)).to.deep.equal(['UNKNOWN>MAINTENANCE', 'MAINTENANCE>UNKNOWN', 'UNKNOWN>UP']);
  });

  it('when maintenance is switched on twice, then the second is no event', () => {
    const r = run([maint(true), maint(true)], defaultRules, up());
    expect(r.transitions).to.have.length(1);
  });

  it('when disabled, then X>DISABLED, later checks are ignored, enabling gives DISABLED>UNKNOWN', () => {
    const r = run([enabled(false), fail(), ok(), enabled(true)], defaultRules, up());
    expect(arrows(r.transitions)).to.deep.equal(['UP>DISABLED', 'DISABLED>UNKNOWN']);
    expect(r.point.state).to.equal('UNKNOWN');
    expect(r.point.histLen).to.equal(0);
  });

  it('when a point disabled during a maintenance window is enabled again inside it, then DISABLED>MAINTENANCE (not UNKNOWN), and the window\'s end decides', () => {
    const r = run([maint(true), enabled(false), maint(true), enabled(true), fail(), fail(), fail()], defaultRules, up());
    expect(arrows(r.transitions)).to.deep.equal(['UP>MAINTENANCE', 'MAINTENANCE>DISABLED', 'DISABLED>MAINTENANCE']);
    expect(r.point.state).to.equal('MAINTENANCE');
    expect(arrows(run([maint(false)], defaultRules, r.point).transitions)).to.deep.equal(['MAINTENANCE>DOWN']);
  });

  it('when disabled twice or enabled while enabled, then no event', () => {
    expect(run([enabled(true)], defaultRules, up()).transitions).to.have.length(0);
    expect(run([enabled(false), enabled(false)], defaultRules, up()).transitions).to.have.length(1);
  });

  it('when transitions are emitted, then seq increases by one each time (idempotent ids)', () => {
    const r = run([ok(), fail(), fail(), fail(), ok(), maint(true)]);
    expect(r.transitions.map((t) => t.seq)).to.deep.equal([1, 2, 3, 4]);
    expect(r.point.seq).to.equal(4);
  });

  it('when nothing changes, then step returns the same point object for config events', () => {
    const p = up();
    expect(step(p, enabled(true)).point).to.equal(p);
  });

  describe('not connected (未接入: no endpoint host)', () => {
    const notConnected = (): PointState => initialState(clock, true, false);

    it('when a point starts without a host, then it is NOT_CONNECTED and checks and maintenance change nothing', () => {
      const start = notConnected();
      expect(start.state).to.equal('NOT_CONNECTED');
      expect(start.confirmed).to.equal('NOT_CONNECTED');
      expect(step(start, fail()).point).to.equal(start);
      const r = run([ok(), fail(), maint(true), ok(), maint(false)], defaultRules, start);
      expect(r.transitions).to.have.length(0);
      expect(r.point.state).to.equal('NOT_CONNECTED');
      expect(r.point.histLen).to.equal(0);
    });

    it('when the host is given, then NOT_CONNECTED>UNKNOWN and the next check decides', () => {
      const r = run([connected(true), ok()], defaultRules, notConnected());
      expect(arrows(r.transitions)).to.deep.equal(['NOT_CONNECTED>UNKNOWN', 'UNKNOWN>UP']);
      expect(r.point.state).to.equal('UP');
      expect(r.point.connected).to.equal(true);
    });

    it('when an UP point loses its host, then UP>NOT_CONNECTED with counters reset, once', () => {
      const r = run([connected(false), connected(false), fail()], defaultRules, up());
      expect(arrows(r.transitions)).to.deep.equal(['UP>NOT_CONNECTED']);
      expect(r.point.state).to.equal('NOT_CONNECTED');
      expect(r.point.histLen).to.equal(0);
      expect(r.point.successes).to.equal(0);
    });

    it('when a flapping point loses its host, then the one record ends the episode', () => {
      const rules = { ...defaultRules, failuresToDown: 1 };
      const events: MachineEvent[] = [];
      for (let i = 0; i < 30; i++) events.push(i % 2 ? fail() : ok());
      const flapping = run(events, rules).point;
      expect(flapping.flapping).to.equal(true);
      const r = step(flapping, connected(false), rules);
      expect(r.transition?.to).to.equal('NOT_CONNECTED');
      expect(r.transition?.flapping).to.equal(false);
      expect(r.point.flapping).to.equal(false);
    });

    it('when a point is disabled and has no host, then DISABLED wins; enabling it without a host gives NOT_CONNECTED', () => {
      const r = run([enabled(false), enabled(true)], defaultRules, notConnected());
      expect(arrows(r.transitions)).to.deep.equal(['NOT_CONNECTED>DISABLED', 'DISABLED>NOT_CONNECTED']);
      const disabled = initialState(clock, false, false);
      expect(disabled.state).to.equal('DISABLED');
    });

    it('when a disabled point gets or loses a host, then it stays DISABLED without an event, and enabling follows the host', () => {
      const gotHost = run([connected(true), enabled(true)], defaultRules, initialState(clock, false, false));
      expect(arrows(gotHost.transitions)).to.deep.equal(['DISABLED>UNKNOWN']);
      const lostHost = run([enabled(false), connected(false)], defaultRules, up());
      expect(arrows(lostHost.transitions)).to.deep.equal(['UP>DISABLED']);
      expect(lostHost.point.state).to.equal('DISABLED');
      expect(arrows(run([enabled(true)], defaultRules, lostHost.point).transitions)).to.deep.equal(['DISABLED>NOT_CONNECTED']);
    });

    it('when a maintenance window is on while the host is given, then NOT_CONNECTED>MAINTENANCE', () => {
      const r = run([maint(true), connected(true)], defaultRules, notConnected());
      expect(arrows(r.transitions)).to.deep.equal(['NOT_CONNECTED>MAINTENANCE']);
      expect(r.point.state).to.equal('MAINTENANCE');
    });

    it('when a connected point is told it is connected, then step returns the same object', () => {
      const p = up();
      expect(step(p, connected(true)).point).to.equal(p);
      const nc = notConnected();
      expect(step(nc, connected(false)).point).to.equal(nc);
    });
  });

  describe('flapping', () => {
    it('when results never change, then the flap percent is 0; when they alternate 21 times, then it is 100', () => {
      expect(flapPercent(0b111111111111111111111, 21)).to.equal(0);
      expect(flapPercent(0b101010101010101010101, 21)).to.be.closeTo(100, 1e-9);
    });

    it('when recent changes happen, then they weigh more than old ones', () => {
      const recent = flapPercent(0b000000000000000000001, 21);
      const old = flapPercent(0b100000000000000000000, 21);
      expect(recent).to.be.greaterThan(old);
      expect(recent).to.be.closeTo((1.25 / 20) * 100, 1e-9);
      expect(old).to.be.closeTo((0.75 / 20) * 100, 1e-9);
    });

    it('when a camera flaps DOWN/UP for 60 checks, then one flapping episode and no stream of DOWN/UP', () => {
      const rules = { ...defaultRules, failuresToDown: 1 };
      const events: MachineEvent[] = [];
      for (let i = 0; i < 60; i++) events.push(i % 2 ? fail() : ok());
      for (let i = 0; i < 30; i++) events.push(ok());
      const r = run(events, rules);
      const starts = r.transitions.filter((t) => t.flapping);
      expect(starts, arrows(r.transitions).join(' ')).to.have.length(1);
      const startIdx = r.transitions.indexOf(starts[0]);
      const after = r.transitions.slice(startIdx + 1);
      expect(after).to.have.length(1);
      expect(after[0].to).to.equal('UP');
      expect(after[0].flapping).to.equal(false);
      expect(after[0].reason).to.match(/stopped flapping/);
      // before detection only a handful of plain changes slipped through
      expect(startIdx).to.be.at.most(4);
      expect(r.point.flapping).to.equal(false);
    });

    it('when flapping ends with the camera down, then the end record carries the net change', () => {
      const rules = { ...defaultRules, failuresToDown: 1 };
      const events: MachineEvent[] = [];
      for (let i = 0; i < 30; i++) events.push(i % 2 ? fail() : ok());
      for (let i = 0; i < 30; i++) events.push(fail());
      const r = run(events, rules, up());
      const last = r.transitions[r.transitions.length - 1];
      expect(last.flapping).to.equal(false);
      expect(last.to).to.equal('DOWN');
      expect(r.point.state).to.equal('DOWN');
    });

    it('when the thresholds are raised, then the same pattern does not flap', () => {
      const rules = { ...defaultRules, failuresToDown: 1, flapHigh: 101, flapLow: 100 };
      const events: MachineEvent[] = [];
      for (let i = 0; i < 20; i++) events.push(i % 2 ? fail() : ok());
      const r = run(events, rules);
      expect(r.transitions.some((t) => t.flapping)).to.equal(false);
      expect(r.transitions).to.have.length(20);
    });
  });
});

describe('steady-check fast path', () => {
  it('when random event sequences run through steadyCheck-then-step and through step alone, then points and transitions are identical', () => {
    let seed = 7;
    const rnd = (): number => ((seed = (seed * 1_103_515_245 + 12_345) & 0x7fffffff) / 0x7fffffff);
    let fastHits = 0;
    for (let run = 0; run < 200; run++) {
      const rules: MachineRules = { failuresToDown: 1 + Math.floor(rnd() * 4), successesToUp: 1 + Math.floor(rnd() * 3), flapHigh: 20, flapLow: 5 };
      let slow = initialState(clock);
      const fast: PointState = { ...slow };
      const upBias = rnd();
      for (let i = 0; i < 120; i++) {
        const r = rnd();
        const ev: MachineEvent = r < 0.01 ? maint(rnd() < 0.5) : r < 0.015 ? enabled(rnd() < 0.7) : rnd() < upBias ? ok() : fail();
        const s = step(slow, ev, rules);
        slow = s.point;
        let t: MachineTransition | undefined;
        if (ev.kind === 'check' && steadyCheck(fast, ev.at, ev.up, ev.rttMs, ev.reason, rules)) {
          fastHits++;
        } else {
          const f = step(fast, ev, rules);
          Object.assign(fast, f.point);
          t = f.transition;
        }
        expect(fast, `run ${run} event ${i}`).to.deep.equal(slow);
        expect(t, `run ${run} event ${i}`).to.deep.equal(s.transition);
      }
    }
    // the fast path must actually be taken, or this test proves nothing
    expect(fastHits).to.be.above(1000);
  });

  it('when the point is not in a steady state, then steadyCheck refuses and leaves it untouched', () => {
    const pending = run([ok(), fail()]).point;
    const copy = { ...pending };
    expect(steadyCheck(pending, clock + 1, true, 1, 'ok', defaultRules)).to.equal(false);
    expect(pending).to.deep.equal(copy);
    const young = up();
    expect(steadyCheck(young, clock + 1, true, 1, 'ok', defaultRules)).to.equal(false);
  });
});
