import { expect } from 'chai';
import type { AlertPoint } from '../../server/src/alerts/incidents/engine';
import { compileMatcher, matcherCovers } from '../../server/src/alerts/matcher';
import { MaintenanceScheduler, type MaintenanceTarget, type WindowRule } from '../../server/src/alerts/maintenance/scheduler';
import type { PointMatcher } from '../../server/src/contracts/incidents';
import { Calendar } from '../../server/src/lib/calendar';
import { createLogger } from '../../server/src/lib/logger';
import { RegionTree, type RegionNode } from '../../server/src/regions/tree';

const node = (id: string, tier: RegionNode['tier'], parentId: string | null): RegionNode => ({ id, name: id, tier, parentId, code: null, households: null });
const tree = new RegionTree([node('D', 'district', null), node('S1', 'street', 'D'), node('S2', 'street', 'D'), node('C1', 'community', 'S1'), node('G1', 'grid', 'C1')]);
const pt = (id: string, regionId: string, extra: Partial<AlertPoint> = {}): AlertPoint => ({
  id,
  name: id,
  gbCode: '',
  regionId,
  gridId: null,
  upstreamId: null,
  org: 'OrgA',
  sharing: 'up',
  tags: [],
  ...extra,
});
const matcher = (m: Partial<PointMatcher>): PointMatcher => ({ pointIds: [], regionIds: [], orgs: [], tags: [], ...m });
const globalAdmin = { scopeRegionId: null, maintainerOrg: null };

/** Monitoring as the scheduler sees it: a maintenance mark per monitored point, and every switch recorded. */
class FakeMonitoring implements MaintenanceTarget {
  readonly marks = new Map<string, boolean>();
  readonly switches: string[] = [];
  inMaintenance(id: string): boolean | undefined {
    return this.marks.get(id);
  }
  setMaintenance(id: string, on: boolean): void {
    if (!this.marks.has(id)) throw new Error('not monitored');
    this.marks.set(id, on);
    this.switches.push(`${id}:${on ? 'on' : 'off'}`);
  }
  inMaint(): string[] {
    return [...this.marks].filter(([, on]) => on).map(([id]) => id).sort();
  }
}

/** Tuesday 16 June 2026, 22:00–02:00 Asia/Shanghai. */
const TUE22 = Date.UTC(2026, 5, 16, 14);
const weekly: WindowRule = {
  id: 'w1',
  name: '周二夜间检修',
  enabled: true,
  matcher: matcher({ regionIds: ['S1'] }),
  schedule: { kind: 'weekly', days: [2], start: '22:00', end: '02:00' },
  viewer: globalAdmin,
};

function setup(rules: WindowRule[], points: AlertPoint[], opts: { now?: number; tickMs?: number; clock?: () => number } = {}) {
  const byId = new Map(points.map((p) => [p.id, p]));
  const target = new FakeMonitoring();
  for (const p of points) target.marks.set(p.id, false);
  const state = { now: opts.now ?? TUE22 - 60_000, rules };
  const scheduler = new MaintenanceScheduler({
    windows: () => state.rules,
    points: { get: (id) => byId.get(id), ids: () => byId.keys() },
    tree: () => tree,
    target,
    calendar: new Calendar('Asia/Shanghai'),
    clock: opts.clock ?? (() => state.now),
    logger: createLogger('silent'),
    tickMs: opts.tickMs ?? 3_600_000,
  });
  return { scheduler, target, state, byId };
}

describe('maintenance windows: the scheduler drives monitoring\'s MAINTENANCE state', () => {
  let stop: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const s of stop) await s();
    stop = [];
  });

  it('when a weekly window on a street opens and closes, then exactly that street\'s points (its grids included) go in and come out', async () => {
    const { scheduler, target, state } = setup([weekly], [pt('a', 'S1'), pt('b', 'G1'), pt('c', 'S2')]);
    stop.push(() => scheduler.stop());
    await scheduler.start();
    expect(target.inMaint(), 'Tuesday 21:59').to.deep.equal([]);
    state.now = TUE22;
    await scheduler.run();
    expect(target.inMaint()).to.deep.equal(['a', 'b']);
    state.now = TUE22 + 4 * 3_600_000 - 1;
    await scheduler.run();
    expect(target.inMaint(), 'Wednesday 01:59:59.999').to.deep.equal(['a', 'b']);
    state.now = TUE22 + 4 * 3_600_000;
    await scheduler.run();
    expect(target.inMaint(), 'Wednesday 02:00').to.deep.equal([]);
    expect(target.switches).to.deep.equal(['a:on', 'b:on', 'a:off', 'b:off']);
  });

  it('when it starts after a restart, then it puts right what changed meanwhile: a window that ended lets its points out, an open one holds its points', async () => {
    const points = [pt('a', 'S1'), pt('b', 'S2')];
    // the process died mid-window and comes back after it ended: monitoring restored "a" in maintenance
    const after = setup([weekly], points, { now: TUE22 + 5 * 3_600_000 });
    after.target.marks.set('a', true);
    await after.scheduler.start();
    stop.push(() => after.scheduler.stop());
    expect(after.target.inMaint()).to.deep.equal([]);
    // it comes back mid-window with the mark lost (a status never flushed): switched on again, nothing else
    const mid = setup([weekly], points, { now: TUE22 + 3_600_000 });
    await mid.scheduler.start();
    stop.push(() => mid.scheduler.stop());
    expect(mid.target.inMaint()).to.deep.equal(['a']);
    // and with the mark kept: no switch at all (no MAINTENANCE → X → MAINTENANCE churn)
    const kept = setup([weekly], points, { now: TUE22 + 3_600_000 });
    kept.target.marks.set('a', true);
    await kept.scheduler.start();
    stop.push(() => kept.scheduler.stop());
    expect(kept.target.switches).to.deep.equal([]);
  });

  it('when a point is registered into an open window\'s scope, then it joins it; one that monitoring learns of a moment later joins too', async () => {
    const { scheduler, target, byId } = setup([weekly], [pt('a', 'S1')], { now: TUE22 + 60_000 });
    stop.push(() => scheduler.stop());
    await scheduler.start();
    byId.set('n1', pt('n1', 'C1'));
    target.marks.set('n1', false);
    scheduler.pointChanged('n1');
    await scheduler.run();
    expect(target.inMaint()).to.deep.equal(['a', 'n1']);
    // registered, but not yet in monitoring's mirror when the change is heard
    byId.set('n2', pt('n2', 'S1'));
    scheduler.pointChanged('n2');
    await scheduler.run();
    expect(target.marks.has('n2')).to.equal(false);
    target.marks.set('n2', false);
    await scheduler.run();
    expect(target.inMaint()).to.deep.equal(['a', 'n1', 'n2']);
    // a point moved out of the street leaves the window
    byId.set('a', pt('a', 'S2'));
    scheduler.pointChanged('a');
    await scheduler.run();
    expect(target.inMaint()).to.deep.equal(['n1', 'n2']);
  });

  it('when an open window is deleted or disabled, then its points leave maintenance at once; overlapping windows keep theirs', async () => {
    const other: WindowRule = { ...weekly, id: 'w2', matcher: matcher({ pointIds: ['b'] }) };
    const { scheduler, target, state } = setup([weekly, other], [pt('a', 'S1'), pt('b', 'S1')], { now: TUE22 + 60_000 });
    stop.push(() => scheduler.stop());
    await scheduler.start();
    expect(target.inMaint()).to.deep.equal(['a', 'b']);
    state.rules = [other];
    await scheduler.windowsChanged();
    expect(target.inMaint()).to.deep.equal(['b']);
    state.rules = [{ ...other, enabled: false }];
    await scheduler.windowsChanged();
    expect(target.inMaint()).to.deep.equal([]);
  });

  it('when criteria are combined, then they are AND-ed; a window covers only points its creator can see', async () => {
    const tagged: WindowRule = { ...weekly, matcher: matcher({ regionIds: ['S1'], orgs: ['OrgA'], tags: ['夜间'] }) };
    // a street admin's window: an `own` point of a community below his street is not his to switch
    const street: WindowRule = { ...weekly, id: 'w3', matcher: matcher({ regionIds: ['S2'] }), viewer: { scopeRegionId: 'S2', maintainerOrg: null } };
    const points = [
      pt('hit', 'C1', { tags: ['夜间', '路口'] }),
      pt('wrongOrg', 'C1', { tags: ['夜间'], org: 'OrgB' }),
      pt('noTag', 'C1'),
      pt('outside', 'S2', { tags: ['夜间'], sharing: 'own' }),
    ];
    const { scheduler, target } = setup([tagged, street], points, { now: TUE22 + 60_000 });
    stop.push(() => scheduler.stop());
    await scheduler.start();
    expect(target.inMaint()).to.deep.equal(['hit', 'outside']);
    const scoped = { ...street, matcher: matcher({ regionIds: ['S1'] }), viewer: { scopeRegionId: 'S1', maintainerOrg: null } };
    const own = setup([scoped], [pt('own', 'C1', { sharing: 'own' }), pt('up', 'C1')], { now: TUE22 + 60_000 });
    await own.scheduler.start();
    stop.push(() => own.scheduler.stop());
    expect(own.target.inMaint(), "a street admin does not see a community's own point").to.deep.equal(['up']);
  });

  it('when a window ends, then the timer wakes at its end, not at the next tick', async () => {
    const base = Date.now();
    // the clock says Tuesday 22:00 plus the real time elapsed; the window ends 300 ms from now
    const clock = (): number => TUE22 + 4 * 3_600_000 - 300 + (Date.now() - base);
    const { scheduler, target } = setup([weekly], [pt('a', 'S1')], { clock, tickMs: 60_000 });
    stop.push(() => scheduler.stop());
    await scheduler.start();
    expect(target.inMaint()).to.deep.equal(['a']);
    await new Promise((res) => setTimeout(res, 1500));
    expect(target.inMaint(), 'out within the 1.5 s waited, with a 60 s tick').to.deep.equal([]);
  });

  it('when a matcher is compiled, then it agrees with matcherCovers on every point', () => {
    const matchers = [
      matcher({ regionIds: ['S1'] }),
      matcher({ regionIds: ['C1', 'S2'], orgs: ['OrgB'] }),
      matcher({ pointIds: ['p1', 'p3'], tags: ['a'] }),
      matcher({ tags: ['a', 'b'] }),
      matcher({ regionIds: ['G1'] }),
    ];
    const points = [
      pt('p1', 'S1', { tags: ['a'] }),
      pt('p2', 'C1', { gridId: 'G1', org: 'OrgB', tags: ['a', 'b'] }),
      pt('p3', 'S2', { org: 'OrgB', tags: ['b'] }),
      pt('p4', 'D', { tags: ['a', 'b'] }),
      pt('p5', 'unknown'),
    ];
    let hits = 0;
    for (const m of matchers) {
      const compiled = compileMatcher(m, tree);
      for (const p of points) {
        expect(compiled(p), `${JSON.stringify(m)} ${p.id}`).to.equal(matcherCovers(m, p, tree));
        if (compiled(p)) hits++;
      }
    }
    expect(hits, 'the fixture exercises both answers').to.be.within(4, 20);
  });
});
