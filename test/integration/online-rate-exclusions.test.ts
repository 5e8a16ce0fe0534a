import { expect } from 'chai';
import type { ExclusionLookup, ExclusionWindow } from '../../server/src/reports/exclusions';
import { pointRates, timeRate, type RateFigures } from '../../server/src/reports/online-rate';
import { HistoryDriver, sh, storeForTests } from '../fixtures/history';

const JUNE = { from: sh(2026, 6, 1), to: sh(2026, 7, 1) };
const FAR = sh(2030, 1, 1);
const SNAP = ['08:00', '14:00', '20:00'];

/** [up, down, maintenance] seconds of a figure. */
const udm = (f: RateFigures): number[] => f.sec.slice(0, 3);

/** A lookup answering fixed approved periods per point, clipped to the asked range as the real one does. */
function lookupOf(periods: Record<string, Array<[number, number]>>): ExclusionLookup {
  return (ids, from, to) => {
    const out = new Map<string, ExclusionWindow[]>();
    for (const [id, list] of Object.entries(periods)) {
      if (!ids.has(id)) continue;
      const windows = list
        .filter(([a, b]) => a < to && b > from)
        .map(([a, b], i) => ({
          from: Math.max(a, from),
          to: Math.min(b, to),
          exclusion: { id: `${id}-${i}`, reason: 'power_cut' as const, approver: 'approver', from: new Date(a).toISOString(), to: new Date(b).toISOString() },
        }));
      if (windows.length) out.set(id, windows);
    }
    return Promise.resolve(out);
  };
}

describe('online rate with approved exclusions: hand-computed fixtures through the real store', function () {
  this.timeout(60_000);
  const stores = storeForTests('excl');

  /** A DOWN 10:00–18:00 on 10 June (8 h), UP the rest of June; B UP all month. */
  async function june(): Promise<HistoryDriver> {
    const d = new HistoryDriver(await stores.connect());
    await d.store.ensureIndexes();
    d.add('a', JUNE.from);
    d.check('a', JUNE.from, true).check('a', sh(2026, 6, 10, 10), false).check('a', sh(2026, 6, 10, 18), true);
    d.add('b', JUNE.from);
    d.check('b', JUNE.from, true);
    await d.close(JUNE.to);
    return d;
  }

  const rates = (d: HistoryDriver, range: { from: number; to: number }, exclusions?: ExclusionLookup): Promise<Map<string, RateFigures>> =>
    pointRates(d.read, new Set(['a', 'b']), { ...range, now: FAR, snapshotTimes: SNAP, ...(exclusions ? { exclusions } : {}) });

  it('when 4 h of an 8 h outage are excluded over whole days, then exactly those 14,400 s leave the denominator: 99.4413 %', async () => {
    const d = await june();
    const before = (await rates(d, JUNE)).get('a') as RateFigures;
    expect(udm(before)).to.deep.equal([2_563_200, 28_800, 0]);
    expect(timeRate(before)).to.equal(98.8889);
    const after = (await rates(d, JUNE, lookupOf({ a: [[sh(2026, 6, 10, 12), sh(2026, 6, 10, 16)]] }))).get('a') as RateFigures;
    expect(udm(after)).to.deep.equal([2_563_200, 14_400, 0]);
    expect(after.excluded).to.equal(14_400);
    expect(timeRate(after)).to.equal(99.4413);
    // the 14:00 snapshot fell inside the excluded period: it is not counted (it found the point offline)
    expect([before.online, before.offline]).to.deep.equal([89, 1]);
    expect([after.online, after.offline]).to.deep.equal([89, 0]);
  });

  it('when an excluded period also covers up time, then up and down both leave: 08:00–12:00 takes 2 h up and 2 h down', async () => {
    const d = await june();
    const f = (await rates(d, JUNE, lookupOf({ a: [[sh(2026, 6, 10, 8), sh(2026, 6, 10, 12)]] }))).get('a') as RateFigures;
    expect(udm(f)).to.deep.equal([2_563_200 - 7_200, 28_800 - 7_200, 0]);
    expect(f.excluded).to.equal(14_400);
  });

  it('when two approved periods overlap, then their union is taken once (12:00–17:00 = 18,000 s), and other points are untouched', async () => {
    const d = await june();
    const per = await rates(
      d,
      JUNE,
      lookupOf({
        a: [
          [sh(2026, 6, 10, 12), sh(2026, 6, 10, 16)],
          [sh(2026, 6, 10, 14), sh(2026, 6, 10, 17)],
        ],
      }),
    );
    const a = per.get('a') as RateFigures;
    expect(udm(a)).to.deep.equal([2_563_200, 10_800, 0]);
    expect(a.excluded).to.equal(18_000);
    expect(udm(per.get('b') as RateFigures)).to.deep.equal([2_592_000, 0, 0]);
    expect((per.get('b') as RateFigures).excluded).to.equal(0);
  });

  it('when the range cuts the excluded period (11:00–13:00 against 12:00–16:00), then only the hour inside the range leaves, to the second', async () => {
    const d = await june();
    const f = (await rates(d, { from: sh(2026, 6, 10, 11), to: sh(2026, 6, 10, 13) }, lookupOf({ a: [[sh(2026, 6, 10, 12), sh(2026, 6, 10, 16)]] }))).get('a') as RateFigures;
    expect(udm(f)).to.deep.equal([0, 3_600, 0]);
    expect(f.excluded).to.equal(3_600);
  });

  it('when a period spans midnight and whole days around it, then both sides are taken: 9 June 20:00 → 11 June 02:00 = 30 h', async () => {
    const d = await june();
    const f = (await rates(d, JUNE, lookupOf({ a: [[sh(2026, 6, 9, 20), sh(2026, 6, 11, 2)]] }))).get('a') as RateFigures;
    expect(f.excluded).to.equal(30 * 3600);
    expect(udm(f)).to.deep.equal([2_563_200 - 22 * 3600, 0, 0]);
    expect(timeRate(f)).to.equal(100);
  });
});
