import { setFlagsFromString } from 'node:v8';
import { runInThisContext } from 'node:vm';
import { expect } from 'chai';
import type { Point } from '../../server/src/monitoring/points';
import type { Rollups } from '../../server/src/monitoring/rollups';
import { storelessEngine } from '../fixtures/polling';

// V8's own check of two objects' hidden classes (a function compiled after the flag is set may use it)
setFlagsFromString('--allow-natives-syntax');
const haveSameMap = runInThisContext('(a, b) => %HaveSameMap(a, b)') as (a: object, b: object) => boolean;

const HOUR = 3_600_000;

describe('rollups: the history slot on a point', () => {
  function engine(n: number): { rollups: Rollups; points: Point[] } {
    const e = storelessEngine();
    for (let i = 0; i < n; i++) e.add(`p${i}`);
    return { rollups: (e.service as unknown as { rollups: Rollups }).rollups, points: Array.from({ length: n }, (_, i) => e.point(`p${i}`)) };
  }

  // A slot field given a heap double (a division's whole result) after only small integers changes its
  // representation: the point gets a new hidden class and every other point's is deprecated, so the next walk
  // over all points migrated each one (~300 ms at 150,000: the event-loop max of the history pass, #15).
  it('when time and checks are accounted and the slot is spilled, then the point keeps the hidden class of an untouched one', () => {
    const { rollups, points } = engine(4);
    const [a, b, c, untouched] = points;
    expect(haveSameMap(a, untouched)).to.equal(true);
    const t = a.acctSince;
    rollups.account(a, t + 7_000, 1);
    rollups.account(b, t + 2 * HOUR + 1_500, 2);
    rollups.closeSlot(c, t + 90_000);
    expect(a.rU + a.rChecks).to.be.greaterThan(0);
    expect(haveSameMap(a, untouched), 'after account').to.equal(true);
    expect(haveSameMap(b, untouched), 'after account over an hour turn').to.equal(true);
    expect(haveSameMap(c, untouched), 'after closeSlot').to.equal(true);
  });

  it('when a point is scheduled and dispatched (its due and last-run times set), then it keeps the hidden class of an untouched one', () => {
    const { points } = engine(3);
    const [a, b, untouched] = points;
    const now = Date.now();
    a.dueAt = now + 1_000;
    b.lastRunAt = now;
    expect(haveSameMap(a, untouched), 'after dueAt').to.equal(true);
    expect(haveSameMap(b, untouched), 'after lastRunAt').to.equal(true);
  });
});
