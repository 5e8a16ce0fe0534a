import { expect } from 'chai';
import { addRate, emptyRate, pointRates, snapshotRate, timeRate, type RateFigures } from '../../server/src/reports/online-rate';
import { HistoryDriver, sh, storeForTests } from '../fixtures/history';

const JUNE = { from: sh(2026, 6, 1), to: sh(2026, 7, 1) };
const JULY = { from: sh(2026, 7, 1), to: sh(2026, 8, 1) };
const FAR = sh(2030, 1, 1);
const SNAP = ['08:00', '14:00', '20:00'];

/** [up, down, maintenance] seconds of a figure. */
const udm = (f: RateFigures): number[] => f.sec.slice(0, 3);

describe('online rate: hand-computed fixtures through the real store (June 2026 = 2,592,000 s)', function () {
  this.timeout(60_000);
  const stores = storeForTests('rate');

  /** A monitoring write path on its own fresh database. */
  async function driver(): Promise<HistoryDriver> {
    const conn = await stores.connect();
    const d = new HistoryDriver(conn);
    await d.store.ensureIndexes();
    return d;
  }

  const rates = async (d: HistoryDriver, ids: string[], range: { from: number; to: number }, snapshotTimes: string[] = []): Promise<Map<string, RateFigures>> =>
    pointRates(d.read, new Set(ids), { ...range, now: FAR, snapshotTimes });

  it('when one point is DOWN exactly 8 h in June, then its rate is 98.8889 % (1 − 28,800 / 2,592,000)', async () => {
    const d = await driver();
    d.add('a', JUNE.from);
    d.check('a', JUNE.from, true).check('a', sh(2026, 6, 10, 10), false).check('a', sh(2026, 6, 10, 18), true);
    await d.close(JUNE.to);
    const f = (await rates(d, ['a'], JUNE)).get('a') as RateFigures;
    expect(udm(f)).to.deep.equal([2_563_200, 28_800, 0]);
    expect(timeRate(f)).to.equal(98.8889);
  });

  it('when 4 h of the 8 h fall inside a maintenance window, then they leave the denominator: 99.4413 % (1 − 14,400 / 2,577,600)', async () => {
    const d = await driver();
    d.add('a', JUNE.from);
    d.check('a', JUNE.from, true).check('a', sh(2026, 6, 10, 10), false);
    d.maintenance('a', sh(2026, 6, 10, 12), true).maintenance('a', sh(2026, 6, 10, 16), false);
    d.check('a', sh(2026, 6, 10, 18), true);
    await d.close(JUNE.to);
    expect(d.transitions.map((t) => t.to)).to.deep.equal(['UP', 'DOWN', 'MAINTENANCE', 'DOWN', 'UP']);
    const f = (await rates(d, ['a'], JUNE)).get('a') as RateFigures;
    expect(udm(f)).to.deep.equal([2_563_200, 14_400, 14_400]);
    expect(timeRate(f)).to.equal(99.4413);
  });

  it('when the same 8 h fall in a 31-day month, then the rate is 98.9247 % (1 − 28,800 / 2,678,400)', async () => {
    const d = await driver();
    d.add('a', JULY.from);
    d.check('a', JULY.from, true).check('a', sh(2026, 7, 20, 1), false).check('a', sh(2026, 7, 20, 9), true);
    await d.close(JULY.to);
    const f = (await rates(d, ['a'], JULY)).get('a') as RateFigures;
    expect(udm(f)).to.deep.equal([2_649_600, 28_800, 0]);
    expect(timeRate(f)).to.equal(98.9247);
  });

  it('when B joins on 16 June and is DOWN 24 h of its 15 days beside A (up all month), then the region pools seconds: 97.7778 %', async () => {
    const d = await driver();
    d.add('A', JUNE.from);
    d.check('A', JUNE.from, true);
    d.add('B', sh(2026, 6, 16));
    d.check('B', sh(2026, 6, 16), true).check('B', sh(2026, 6, 20), false).check('B', sh(2026, 6, 21), true);
    await d.close(JUNE.to);
    const per = await rates(d, ['A', 'B'], JUNE);
    expect(udm(per.get('B') as RateFigures)).to.deep.equal([1_209_600, 86_400, 0]);
    const region = emptyRate();
    for (const f of per.values()) addRate(region, f);
    expect(udm(region)).to.deep.equal([3_801_600, 86_400, 0]);
    expect(timeRate(region)).to.equal(97.7778);
    // not the average of the two rates (100 % and 93.3333 %)
    expect(timeRate(per.get('B') as RateFigures)).to.equal(93.3333);
  });

  it('when an outage runs from 30 June 23:30 to 1 July 00:30 (Asia/Shanghai), then each month holds 1,800 s of it', async () => {
    const d = await driver();
    d.add('a', JUNE.from);
    d.check('a', JUNE.from, true).check('a', sh(2026, 6, 30, 23, 30), false).check('a', sh(2026, 7, 1, 0, 30), true);
    await d.close(JULY.to);
    expect(udm((await rates(d, ['a'], JUNE)).get('a') as RateFigures)).to.deep.equal([2_590_200, 1_800, 0]);
    expect(udm((await rates(d, ['a'], JULY)).get('a') as RateFigures)).to.deep.equal([2_676_600, 1_800, 0]);
    // the day documents agree, and so does a range that cuts both days (computed from transitions)
    const days = await d.store.history.days.find({ _id: { $in: ['20260630:a', '20260701:a'] } }).sort({ _id: 1 }).toArray();
    expect(days.map((x) => [x.u, x.d, x.h?.d])).to.deep.equal([
      [84_600, 1_800, { '23': 1_800 }],
      [84_600, 1_800, { '0': 1_800 }],
    ]);
    const cut = (await rates(d, ['a'], { from: sh(2026, 6, 30, 23), to: sh(2026, 7, 1, 1) })).get('a') as RateFigures;
    expect(udm(cut)).to.deep.equal([3_600, 3_600, 0]);
    expect(timeRate(cut)).to.equal(50);
  });

  it('when snapshots are taken at 08:00/14:00/20:00 for 30 days and 6 of the 90 instants find the point offline, then the snapshot rate is 93.3333 % beside the time-weighted one', async () => {
    const d = await driver();
    d.add('a', JUNE.from);
    d.check('a', JUNE.from, true);
    for (let day = 1; day <= 6; day++) {
      const h = day <= 3 ? 8 : 14;
      d.check('a', sh(2026, 6, day, h - 1, 59), false).check('a', sh(2026, 6, day, h, 1), true);
    }
    // a short outage between instants changes the time-weighted rate only
    d.check('a', sh(2026, 6, 7, 9), false).check('a', sh(2026, 6, 7, 9, 10), true);
    await d.close(JUNE.to);
    const f = (await rates(d, ['a'], JUNE, SNAP)).get('a') as RateFigures;
    expect([f.online, f.offline]).to.deep.equal([84, 6]);
    expect(snapshotRate(f)).to.equal(93.3333);
    expect(f.sec[1]).to.equal(6 * 120 + 600);
    expect(timeRate(f)).to.equal(99.9491);
  });

  it('when the range is a few minutes, then the rate is exact to the second: DOWN 60 s of a 300 s window → 80 %', async () => {
    const d = await driver();
    d.add('a', JUNE.from);
    d.check('a', JUNE.from, true).check('a', sh(2026, 6, 10, 10, 2), false).check('a', sh(2026, 6, 10, 10, 3), true);
    await d.close(JUNE.to);
    const f = (await rates(d, ['a'], { from: sh(2026, 6, 10, 10), to: sh(2026, 6, 10, 10, 5) })).get('a') as RateFigures;
    expect(udm(f)).to.deep.equal([240, 60, 0]);
    expect(timeRate(f)).to.equal(80);
  });

  it('when a range cuts a day at both ends and spans whole days between, then each second is counted once, as the transitions say', async () => {
    const d = await driver();
    d.add('a', JUNE.from);
    d.check('a', JUNE.from, true);
    // outages: inside the first cut day, across the start of the range, in a whole day, across the end
    const outages: Array<[number, number]> = [
      [sh(2026, 6, 5, 12, 0, 0), sh(2026, 6, 5, 13, 20, 0)],
      [sh(2026, 6, 5, 15, 0, 7), sh(2026, 6, 5, 15, 0, 19)],
      [sh(2026, 6, 11, 23, 59, 30), sh(2026, 6, 12, 0, 0, 45)],
      [sh(2026, 6, 20, 8, 0, 0), sh(2026, 6, 20, 8, 10, 0)],
    ];
    for (const [a, b] of outages) d.check('a', a, false).check('a', b, true);
    await d.close(JUNE.to);
    const from = sh(2026, 6, 5, 13, 17, 42);
    const to = sh(2026, 6, 20, 8, 3, 9);
    let down = 0;
    for (const [a, b] of outages) down += Math.max(0, Math.min(b, to) - Math.max(a, from)) / 1000;
    expect(down).to.equal(138 + 12 + 75 + 189);
    const f = (await rates(d, ['a'], { from, to })).get('a') as RateFigures;
    expect(udm(f)).to.deep.equal([(to - from) / 1000 - down, down, 0]);
  });

  it('when a range runs into the future, then it stops at now and the time not yet passed counts nowhere', async () => {
    const d = await driver();
    d.add('a', JUNE.from);
    d.check('a', JUNE.from, true).check('a', sh(2026, 6, 10, 10), false);
    await d.close(sh(2026, 6, 10, 12));
    const f = (await pointRates(d.read, new Set(['a']), { ...JUNE, now: sh(2026, 6, 10, 12), snapshotTimes: [] })).get('a') as RateFigures;
    expect(udm(f)).to.deep.equal([9 * 86_400 + 10 * 3_600, 2 * 3_600, 0]);
  });
});
