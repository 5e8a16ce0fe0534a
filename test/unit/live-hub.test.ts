import { expect } from 'chai';
import type { StatusBatch } from '../../server/src/contracts/live';
import { LiveHub, type PointEntry } from '../../server/src/live/hub';
import { RegionTree, type RegionNode } from '../../server/src/regions/tree';

const node = (id: string, parentId: string | null, name: string, tier: RegionNode['tier']): RegionNode => ({ id, parentId, name, tier, code: null, households: null });
const regions = [node('d', null, '区', 'district'), node('s1', 'd', '街道一', 'street'), node('s2', 'd', '街道二', 'street'), node('c1', 's1', '社区一', 'community')];

function pt(id: string, regionId: string, sharing: 0 | 1 | 2 = 0, st: 0 | 1 | 3 = 1): PointEntry {
  return { id, regionId, sharing, org: '', st, since: 1000, flap: false };
}

function makeHub(points: PointEntry[], batchMs = 250) {
  const batches: Array<{ room: string; batch: StatusBatch }> = [];
  const resyncs: string[] = [];
  const hub = new LiveHub(new RegionTree(regions), points, {
    batchMs,
    ringBatches: 3,
    ringPoints: 1000,
    roomIdleMs: 50,
    emitBatch: (room, batch) => batches.push({ room, batch }),
    emitResync: (room) => resyncs.push(room),
  });
  return { hub, batches, resyncs };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('live hub', () => {
  it('when a street-scoped viewer joins a street room, then the snapshot holds only points visible to it', () => {
    const { hub } = makeHub([pt('a', 'c1'), pt('b', 's2'), pt('c', 's2', 2), pt('d', 's1')]);
    const room = hub.join('d', { scopeRegionId: 's1', maintainerOrg: null });
    const snap = hub.stateFor(room);
    expect(snap.kind).to.equal('snapshot');
    if (snap.kind !== 'snapshot') return;
    // 'b' is s2's unshared point: never visible to an s1 operator; 'c' is shared with all
    expect(snap.points.ids).to.not.include('b');
    expect(snap.points.ids).to.include('c');
    hub.close();
  });

  it('when a global viewer joins the district, then counts per child and per state match the points', () => {
    const { hub } = makeHub([pt('a', 'c1'), pt('b', 's2', 0, 3), pt('c', 'd')]);
    const snap = hub.stateFor(hub.join('d', { scopeRegionId: null, maintainerOrg: null }));
    expect(snap.counts.total).to.deep.equal([0, 2, 0, 1, 0, 0, 0]);
    expect(snap.counts.children.s1).to.deep.equal([0, 1, 0, 0, 0, 0, 0]);
    expect(snap.counts.children.s2).to.deep.equal([0, 0, 0, 1, 0, 0, 0]);
    expect(snap.counts.self).to.deep.equal([0, 1, 0, 0, 0, 0, 0]);
    hub.close();
  });

  it('when one point changes several times within a batch window, then batches carry only its latest state', async () => {
    const { hub, batches } = makeHub([pt('a', 'c1'), pt('b', 'c1')]);
    hub.join('s1', { scopeRegionId: null, maintainerOrg: null });
    hub.applyTransition({ cameraId: 'a', to: 'PENDING', at: 2000_000 });
    hub.applyTransition({ cameraId: 'a', to: 'DOWN', at: 2001_000 });
    hub.applyTransition({ cameraId: 'b', to: 'DOWN', at: 2001_000 });
    await sleep(30);
    hub.applyTransition({ cameraId: 'a', to: 'PENDING', at: 2002_000 });
    hub.applyTransition({ cameraId: 'a', to: 'UP', at: 2003_000 });
    await sleep(300);
    expect(batches).to.have.length(2);
    const [first, second] = batches.map((x) => x.batch);
    expect(first.seq).to.equal(1);
    expect(first.changes.ids).to.deep.equal(['a', 'b']);
    expect(first.changes.st).to.deep.equal([3, 3]);
    expect(second.seq).to.equal(2);
    expect(second.changes.ids).to.deep.equal(['a']);
    expect(second.changes.st).to.deep.equal([1]);
    expect(second.serverTime - first.serverTime).to.be.at.least(245);
    expect(second.counts.total).to.deep.equal([0, 1, 0, 1, 0, 0, 0]);
    expect(second.counts.children.c1).to.deep.equal([0, 1, 0, 1, 0, 0, 0]);
    hub.close();
  });

  it('when changes keep arriving, then batches are at least batchMs apart and seq increases by one', async () => {
    const { hub, batches } = makeHub([pt('a', 'c1')], 250);
    hub.join('d', { scopeRegionId: null, maintainerOrg: null });
    const started = Date.now();
    let flip = false;
    while (Date.now() - started < 1100) {
      flip = !flip;
      hub.applyTransition({ cameraId: 'a', to: flip ? 'DOWN' : 'UP', at: Date.now() });
      await sleep(20);
    }
    await sleep(300);
    expect(batches.length).to.be.within(4, 6);
    for (let i = 1; i < batches.length; i++) {
      expect(batches[i].batch.seq).to.equal(batches[i - 1].batch.seq + 1);
      expect(batches[i].batch.serverTime - batches[i - 1].batch.serverTime).to.be.at.least(245);
    }
    hub.close();
  });

  it('when a client resubscribes with a seq still in the ring, then it gets a delta; when too old, a snapshot', () => {
    const { hub } = makeHub([pt('a', 'c1'), pt('b', 'c1'), pt('c', 'c1')], 250);
    const room = hub.join('d', { scopeRegionId: null, maintainerOrg: null });
    const epoch = room.epoch;
    // distinct seconds: a repeated (state, since) is no change (a random `at` made this flaky)
    for (const [i, id] of ['a', 'b', 'c', 'a', 'b'].entries()) {
      hub.applyTransition({ cameraId: id, to: 'DOWN', at: Date.now() + (i + 1) * 10_000 });
      hub.flushAll();
    }
    expect(room.seq).to.equal(5);
    const delta = hub.stateFor(room, 3, epoch);
    expect(delta.kind).to.equal('delta');
    if (delta.kind === 'delta') expect(delta.changes.ids.sort()).to.deep.equal(['a', 'b']);
    // ring holds 3 batches (3..5): seq 1 needs batch 2, which is gone
    expect(hub.stateFor(room, 1, epoch).kind).to.equal('snapshot');
    expect(hub.stateFor(room, 3, 'other-epoch').kind).to.equal('snapshot');
    hub.close();
  });

  it('when a transition targets a point in another street, then the s1 room gets no batch', async () => {
    const { hub, batches } = makeHub([pt('a', 'c1'), pt('b', 's2')]);
    hub.join('s1', { scopeRegionId: 's1', maintainerOrg: null });
    hub.applyTransition({ cameraId: 'b', to: 'DOWN', at: Date.now() });
    await sleep(300);
    expect(batches).to.have.length(0);
    hub.close();
  });

  it('when only the FLAPPING mark changes, then the batch carries the mark and the counts stay', async () => {
    const { hub, batches } = makeHub([pt('a', 'c1'), pt('b', 'c1')]);
    hub.join('d', { scopeRegionId: null, maintainerOrg: null });
    hub.applyTransition({ cameraId: 'b', to: 'UP', at: 1000_000, flapping: true });
    await sleep(50);
    expect(batches).to.have.length(1);
    expect(batches[0].batch.changes.ids).to.deep.equal(['b']);
    expect(batches[0].batch.changes.flap).to.deep.equal([0]);
    expect(batches[0].batch.counts.total).to.deep.equal([0, 2, 0, 0, 0, 0, 0]);
    expect(batches[0].batch.counts.children).to.deep.equal({});
    hub.close();
  });

  it('when the registry adds a point, then rooms get a new epoch and a resync notice', () => {
    const { hub, resyncs } = makeHub([pt('a', 'c1')]);
    const room = hub.join('d', { scopeRegionId: null, maintainerOrg: null });
    const before = room.epoch;
    hub.replaceData(new RegionTree(regions), [pt('a', 'c1'), pt('n', 's2')]);
    expect(resyncs).to.have.length(1);
    expect(room.epoch).to.not.equal(before);
    expect(hub.stateFor(room).counts.total[1]).to.equal(2);
    hub.close();
  });

  it('when the store returns an older state than the feed delivered, then the index keeps the newer one', () => {
    const { hub } = makeHub([pt('a', 'c1')]);
    hub.applyTransition({ cameraId: 'a', to: 'DOWN', at: 5000_000 });
    hub.replaceData(new RegionTree(regions), [pt('a', 'c1')]);
    expect(hub.getPoint('a')?.st).to.equal(3);
    hub.close();
  });

  describe('point changes applied in place (applyPointChanges)', () => {
    it('when a point is added in street 1, then only rooms over street 1 resync and counts include it', () => {
      const { hub, resyncs } = makeHub([pt('a', 'c1'), pt('b', 's2')]);
      const district = hub.join('d', { scopeRegionId: null, maintainerOrg: null });
      hub.join('s1', { scopeRegionId: null, maintainerOrg: null });
      hub.join('s2', { scopeRegionId: null, maintainerOrg: null });
      const epochBefore = district.epoch;
      hub.applyPointChanges([pt('n', 'c1', 0, 3)], []);
      expect(resyncs.sort()).to.deep.equal(['live:d|*', 'live:s1|*'].sort());
      expect(district.epoch).to.not.equal(epochBefore);
      const snap = hub.stateFor(district);
      expect(snap.counts.total).to.deep.equal([0, 2, 0, 1, 0, 0, 0]);
      expect(snap.counts.children.s1).to.deep.equal([0, 1, 0, 1, 0, 0, 0]);
      expect(hub.pointCount).to.equal(3);
      hub.close();
    });

    it('when a point moves from street 1 to street 2 and another is deleted, then both streets resync and counts follow', () => {
      const { hub, resyncs } = makeHub([pt('a', 'c1'), pt('b', 's2'), pt('x', 's2')]);
      const district = hub.join('d', { scopeRegionId: null, maintainerOrg: null });
      const s1 = hub.join('s1', { scopeRegionId: null, maintainerOrg: null });
      const s2 = hub.join('s2', { scopeRegionId: null, maintainerOrg: null });
      hub.applyPointChanges([pt('a', 's2')], ['x']);
      expect(resyncs).to.include.members(['live:d|*', 'live:s1|*', 'live:s2|*']);
      expect(hub.stateFor(s1).counts.total).to.deep.equal([0, 0, 0, 0, 0, 0, 0]);
      expect(hub.stateFor(s2).counts.total).to.deep.equal([0, 2, 0, 0, 0, 0, 0]);
      expect(hub.stateFor(district).counts.total).to.deep.equal([0, 2, 0, 0, 0, 0, 0]);
      expect(hub.getPoint('x')).to.equal(undefined);
      hub.close();
    });

    it('when only the stored state of a point differs, then no room resyncs and the change goes out as a batch', async () => {
      const { hub, resyncs, batches } = makeHub([pt('a', 'c1'), pt('b', 'c1')], 20);
      hub.join('s1', { scopeRegionId: null, maintainerOrg: null });
      hub.applyPointChanges([{ ...pt('a', 'c1', 0, 3), since: 2000 }], []);
      await sleep(60);
      expect(resyncs).to.deep.equal([]);
      expect(batches.length).to.equal(1);
      expect(batches[0].batch.changes.ids).to.deep.equal(['a']);
      expect(batches[0].batch.changes.st).to.deep.equal([3]);
      hub.close();
    });

    it('when the stored state is older than the live one, then the live state is kept', () => {
      const { hub } = makeHub([{ ...pt('a', 'c1', 0, 3), since: 5000 }]);
      hub.applyPointChanges([{ ...pt('a', 'c1', 0, 1), since: 4000 }, { ...pt('a', 'c1', 0, 1), since: 4000 }], []);
      expect(hub.getPoint('a')?.st).to.equal(3);
      expect(hub.getPoint('a')?.since).to.equal(5000);
      hub.close();
    });

    it("when a point's name changed, then the rooms over its region resync (the catalog is stale) and others do not", () => {
      const { hub, resyncs } = makeHub([pt('a', 'c1'), pt('b', 's2')]);
      hub.join('s1', { scopeRegionId: null, maintainerOrg: null });
      hub.join('s2', { scopeRegionId: null, maintainerOrg: null });
      hub.applyPointChanges([pt('a', 'c1')], [], new Set(['a']));
      expect(resyncs).to.deep.equal(['live:s1|*']);
      hub.close();
    });
  });
});
