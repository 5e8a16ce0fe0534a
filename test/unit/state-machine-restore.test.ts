import { expect } from 'chai';
import type { Transition } from '../../server/src/monitoring/events';
import { restore } from '../../server/src/monitoring/service';
import { step } from '../../server/src/monitoring/state-machine';

const at = Date.UTC(2026, 10, 26, 12);
const since = new Date(at - 3_600_000);

describe('state restored after a restart', () => {
  it('when the stored status says UP, then the point is UP with its old since, not UNKNOWN', () => {
    const m = restore({ state: 'UP', since, lastCheckAt: since, rttMs: 2, flapping: false, reason: 'ok', confirmed: 'UP', seq: 4 }, undefined, at, true);
    expect(m.state).to.equal('UP');
    expect(m.since).to.equal(since.getTime());
    expect(m.seq).to.equal(4);
    // the next success is no event
    expect(step(m, { kind: 'check', at, up: true, rttMs: 1, reason: 'ok' }).transition).to.equal(undefined);
  });

  it('when only the public status exists (written by someone else), then PENDING restores as unconfirmed', () => {
    const m = restore({ state: 'PENDING', since, lastCheckAt: null, rttMs: null, flapping: false, reason: null }, undefined, at, true);
    expect(m.state).to.equal('PENDING');
    expect(m.confirmed).to.equal('UNKNOWN');
  });

  it('when a transition was stored but the status write was lost, then seq and state move forward to it', () => {
    const t: Transition = { id: 'x:5', cameraId: 'x', regionId: 'r', seq: 5, from: 'UP', to: 'DOWN', at: new Date(at - 1000), reason: 'timeout', rttMs: null, flapping: false, failingSince: null };
    const m = restore({ state: 'PENDING', since, lastCheckAt: null, rttMs: null, flapping: false, reason: null, confirmed: 'UP', seq: 4, failures: 2 }, t, at, true);
    expect(m.seq).to.equal(5);
    expect(m.state).to.equal('DOWN');
    expect(m.confirmed).to.equal('DOWN');
    // a further failure is no second UP>DOWN
    expect(step(m, { kind: 'check', at, up: false, rttMs: null, reason: 'timeout' }).transition).to.equal(undefined);
  });

  it('when the stored transition is older than the status, then it is ignored', () => {
    const t: Transition = { id: 'x:3', cameraId: 'x', regionId: 'r', seq: 3, from: 'DOWN', to: 'UP', at: since, reason: null, rttMs: null, flapping: false, failingSince: null };
    const m = restore({ state: 'DOWN', since, lastCheckAt: null, rttMs: null, flapping: false, reason: null, confirmed: 'DOWN', seq: 4 }, t, at, true);
    expect(m.state).to.equal('DOWN');
    expect(m.seq).to.equal(4);
  });

  it('when nothing is stored, then a new point starts UNKNOWN, or DISABLED when disabled', () => {
    expect(restore(undefined, undefined, at, true).state).to.equal('UNKNOWN');
    expect(restore(undefined, undefined, at, false).state).to.equal('DISABLED');
  });

  it('when nothing is stored and the point has no host, then it starts NOT_CONNECTED, or DISABLED when disabled', () => {
    expect(restore(undefined, undefined, at, true, false).state).to.equal('NOT_CONNECTED');
    expect(restore(undefined, undefined, at, false, false).state).to.equal('DISABLED');
  });

  it('when the stored status says NOT_CONNECTED and the point now has a host, then giving the host is one NOT_CONNECTED>UNKNOWN', () => {
    const m = restore({ state: 'NOT_CONNECTED', since, lastCheckAt: null, rttMs: null, flapping: false, reason: null, confirmed: 'NOT_CONNECTED', seq: 2 }, undefined, at, true, true);
    expect(m.state).to.equal('NOT_CONNECTED');
    const r = step(m, { kind: 'connected', at, on: true });
    expect(r.transition && `${r.transition.from}>${r.transition.to}`).to.equal('NOT_CONNECTED>UNKNOWN');
    expect(r.transition?.seq).to.equal(3);
  });
});
