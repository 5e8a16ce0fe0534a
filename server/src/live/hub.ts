import { randomBytes } from 'node:crypto';
import { pointPredicate, viewerKey, type Viewer } from '../auth/scope';
import {
  cameraStates,
  emptyStateCounts,
  stateCodeOf,
  type CameraState,
  type Delta,
  type PointStates,
  type ResyncNotice,
  type RoomCounts,
  type Snapshot,
  type StateCode,
  type StateCounts,
  type StatusBatch,
} from '../contracts/live';
import { sharingValues } from '../contracts/vocabulary';
import { sharedCodes, SlotGroups, SlotTable } from '../lib/columns';
import type { RegionTree } from '../regions/tree';

/** 0 own, 1 up, 2 all — the registry's `sharing`, as a code. */
export type SharingCode = 0 | 1 | 2;

export interface PointEntry {
  id: string;
  regionId: string;
  sharing: SharingCode;
  /** The maintainer organisation ('' = none): technicians see their organisation's points only. */
  org: string;
  st: StateCode;
  /** Unix seconds; 0 = unknown. */
  since: number;
  flap: boolean;
}

export interface TransitionInput {
  cameraId: string;
  to: CameraState;
  at: Date | number | string;
  flapping?: boolean;
}

export interface HubOptions {
  /** Minimum spacing of batches per room (≥ 250 ms keeps the ≤ 4/s contract). */
  batchMs: number;
  /** Batches kept per room for replay. */
  ringBatches: number;
  /** Point changes kept per room for replay (a storm evicts older batches sooner). */
  ringPoints: number;
  /** How long a room without members keeps its seq and ring, so a reconnect can replay. */
  roomIdleMs: number;
  emitBatch(roomName: string, batch: StatusBatch): void;
  emitResync(roomName: string, notice: ResyncNotice): void;
  now?: () => number;
}

/** Whether a room's viewer sees the point in a slot: the one rule of auth/scope.ts, built once per room. */
type Visibility = (slot: number) => boolean;

export interface Room {
  readonly key: string;
  /** Socket.IO room name. */
  readonly name: string;
  readonly regionId: string;
  readonly viewer: Viewer;
  epoch: string;
  seq: number;
  members: number;
  counts: RoomCounts;
  visibility: Visibility;
  pending: Set<string>;
  selfChanged: boolean;
  changedChildren: Set<string>;
  ring: StatusBatch[];
  ringPoints: number;
  lastFlushAt: number;
  flushTimer: NodeJS.Timeout | null;
  idleTimer: NodeJS.Timeout | null;
}

const emptyCounts = emptyStateCounts;

function toUnixSeconds(at: Date | number | string): number {
  const ms = at instanceof Date ? at.getTime() : typeof at === 'number' ? at : Date.parse(at);
  return Number.isFinite(ms) ? Math.floor(ms / 1000) : 0;
}

function newEpoch(): string {
  return randomBytes(6).toString('hex');
}

/**
 * The state of every point as columns (lib/columns.ts): a slot per point, its region and organisation as
 * codes of the process's dictionary, the points of each region as a list through the slots. A million
 * points cost ~50 MB here as objects in a map; as columns ~35 bytes a point besides the map entry.
 */
class LivePoints {
  readonly table = new SlotTable();
  readonly region = this.table.i32(-1);
  readonly sharing = this.table.u8();
  readonly org = this.table.i32(-1);
  readonly st = this.table.u8();
  /** Unix seconds; 0 = unknown. */
  readonly since = this.table.f64();
  readonly flap = this.table.u8();
  readonly byRegion = new SlotGroups(this.table);

  get size(): number {
    return this.table.size;
  }

  slot(id: string): number {
    return this.table.slot(id);
  }

  entry(slot: number): PointEntry {
    return {
      id: this.table.id(slot) as string,
      regionId: sharedCodes.value(this.region.get(slot)),
      sharing: this.sharing.get(slot) as SharingCode,
      org: sharedCodes.value(this.org.get(slot)),
      st: this.st.get(slot) as StateCode,
      since: this.since.get(slot),
      flap: this.flap.get(slot) === 1,
    };
  }

  /** Whether `p` is in the same region, sharing and organisation as the point in `slot` (who may see it). */
  sameMembership(slot: number, p: PointEntry): boolean {
    return sharedCodes.value(this.region.get(slot)) === p.regionId && this.sharing.get(slot) === p.sharing && sharedCodes.value(this.org.get(slot)) === p.org;
  }

  /** Adds or overwrites a point; a new point, or one in another region now, goes last in its region's list. */
  put(p: PointEntry): number {
    const slot = this.table.add(p.id);
    const region = sharedCodes.code(p.regionId);
    if (this.byRegion.group(slot) !== region) this.byRegion.add(slot, region);
    this.region.set(slot, region);
    this.sharing.set(slot, p.sharing);
    this.org.set(slot, sharedCodes.code(p.org));
    this.setState(slot, p.st, p.since, p.flap);
    return slot;
  }

  setState(slot: number, st: number, since: number, flap: boolean): void {
    this.st.set(slot, st);
    this.since.set(slot, since);
    this.flap.set(slot, flap ? 1 : 0);
  }

  sameState(slot: number, other: LivePoints, otherSlot: number): boolean {
    return this.st.get(slot) === other.st.get(otherSlot) && this.flap.get(slot) === other.flap.get(otherSlot) && this.since.get(slot) === other.since.get(otherSlot);
  }

  /** Removes a point; returns the region it was in (null: unknown point). */
  remove(id: string): string | null {
    const slot = this.table.slot(id);
    if (slot === -1) return null;
    const region = sharedCodes.value(this.region.get(slot));
    this.byRegion.remove(slot);
    this.table.remove(id);
    return region;
  }

  /** Calls `fn` with the slot of each point of a region, in the order they were added. */
  forEachIn(regionId: string, fn: (slot: number) => void): void {
    const code = sharedCodes.find(regionId);
    if (code !== -1) this.byRegion.forEach(code, fn);
  }

  regionHasPoints(regionId: string): boolean {
    const code = sharedCodes.find(regionId);
    return code !== -1 && this.byRegion.size(code) > 0;
  }
}

/**
 * The live state of every point and the rooms that watch subtrees of the region tree.
 *
 * A room is one (region, viewer) pair (`viewerKey`: scope root, and the maintainer organisation of a
 * technician): everyone in it sees exactly the same set of points, so one batch serves all its sockets,
 * a street operator is never in a room that carries another street's unshared points, and a technician
 * never in one that carries another organisation's. A transition goes to the rooms of the point's region and of all its ancestors whose
 * viewer may see the point. Changes are coalesced per point and flushed at most once per `batchMs`.
 */
export class LiveHub {
  private tree: RegionTree;
  private points = new LivePoints();
  private readonly rooms = new Map<string, Room>();
  private readonly roomsByRegion = new Map<string, Set<Room>>();
  private readonly now: () => number;
  private closed = false;

  constructor(
    tree: RegionTree,
    points: Iterable<PointEntry>,
    private readonly opts: HubOptions,
  ) {
    this.tree = tree;
    this.now = opts.now ?? Date.now;
    this.loadPoints(points);
  }

  get regions(): RegionTree {
    return this.tree;
  }

  get pointCount(): number {
    return this.points.size;
  }

  get roomCount(): number {
    return this.rooms.size;
  }

  allPoints(): PointEntry[] {
    const out: PointEntry[] = [];
    for (const slot of this.points.table.slots()) out.push(this.points.entry(slot));
    return out;
  }

  getPoint(id: string): PointEntry | undefined {
    const slot = this.points.slot(id);
    return slot === -1 ? undefined : this.points.entry(slot);
  }

  private loadPoints(points: Iterable<PointEntry>): void {
    const next = new LivePoints();
    for (const p of points) next.put(p);
    this.points = next;
  }

  /**
   * Replaces tree and points after a registry change. Rooms whose view changed shape get a new epoch,
   * fresh counts and a `status:resync`; rooms whose members only see state changes get those as a batch.
   */
  replaceData(tree: RegionTree, points: Iterable<PointEntry>): boolean {
    const old = this.points;
    const prevTree = this.tree;
    this.tree = tree;
    // the store may lag the change feed (writes are batched): never go back to an older state
    const next = new LivePoints();
    for (const p of points) {
      const slot = next.put(p);
      const o = old.slot(p.id);
      if (o !== -1 && old.since.get(o) > p.since) next.setState(slot, old.st.get(o), old.since.get(o), old.flap.get(o) === 1);
    }
    this.points = next;
    const shapeChanged = !sameShape(prevTree, tree) || !sameMembership(old, next);
    if (shapeChanged) {
      this.roomsByRegion.clear();
      for (const room of this.rooms.values()) {
        if (!tree.has(room.regionId)) {
          this.opts.emitResync(room.name, { regionId: room.regionId, reason: 'room_reset' });
          this.dropRoom(room);
          continue;
        }
        this.indexRoom(room);
        this.resetRoom(room);
        this.opts.emitResync(room.name, { regionId: room.regionId, reason: 'registry_changed' });
      }
      return true;
    }
    for (const [id, slot] of next.table.entries()) {
      const o = old.slot(id);
      if (o !== -1 && !next.sameState(slot, old, o)) {
        // restore the old state so the change flows through the one transition path (counts + batches)
        const st = next.st.get(slot);
        const since = next.since.get(slot);
        const flap = next.flap.get(slot) === 1;
        next.setState(slot, old.st.get(o), old.since.get(o), old.flap.get(o) === 1);
        this.applyTransition({ cameraId: id, to: cameraStates[st], at: since * 1000, flapping: flap });
      }
    }
    return false;
  }

  /**
   * Applies registry changes of single points while the region tree stays the same, in O(changed points)
   * (an import changes thousands of points per second; rebuilding the whole index per batch made it
   * quadratic). Rooms over a region whose membership changed — a point added, removed, moved or shared
   * differently — or whose points' attributes changed (`attrsChanged`: names, addresses in the catalog) are
   * reset and told to resync; a state that differs flows through the one transition path. The store may lag
   * the change feed, so a newer live state is never replaced by an older stored one.
   */
  applyPointChanges(upserts: Iterable<PointEntry>, deletes: Iterable<string>, attrsChanged: ReadonlySet<string> = new Set()): void {
    const touched = new Set<string>();
    const pts = this.points;
    for (const id of deletes) {
      const region = pts.remove(id);
      if (region !== null) touched.add(region);
    }
    for (const p of upserts) {
      const o = pts.slot(p.id);
      if (o !== -1 && pts.sameMembership(o, p)) {
        if (attrsChanged.has(p.id)) touched.add(p.regionId);
        const since = pts.since.get(o);
        if (since <= p.since && (pts.st.get(o) !== p.st || (pts.flap.get(o) === 1) !== p.flap || since !== p.since)) {
          this.applyTransition({ cameraId: p.id, to: cameraStates[p.st], at: p.since * 1000, flapping: p.flap });
        }
        continue;
      }
      // a point new here, or seen by others now: last in its region's list, with the newer of the two states
      const old = o === -1 ? null : { st: pts.st.get(o), since: pts.since.get(o), flap: pts.flap.get(o) === 1, region: pts.remove(p.id) };
      if (old?.region) touched.add(old.region);
      const slot = pts.put(p);
      if (old && old.since > p.since) pts.setState(slot, old.st, old.since, old.flap);
      touched.add(p.regionId);
    }
    if (touched.size === 0) return;
    const over = new Set<string>();
    for (const r of touched) if (this.tree.has(r)) for (const a of this.tree.ancestorsOrSelf(r)) over.add(a);
    for (const regionId of over) {
      for (const room of this.roomsByRegion.get(regionId) ?? []) {
        this.resetRoom(room);
        this.opts.emitResync(room.name, { regionId: room.regionId, reason: 'registry_changed' });
      }
    }
  }

  /** Tells every room to reload (point attributes such as names changed; states and counts did not). */
  resyncAll(): void {
    for (const room of this.rooms.values()) this.opts.emitResync(room.name, { regionId: room.regionId, reason: 'registry_changed' });
  }

  /** Applies one transition from the monitoring change feed. Returns false for an unknown point. */
  applyTransition(t: TransitionInput): boolean {
    const pts = this.points;
    const slot = pts.slot(t.cameraId);
    if (slot === -1) return false;
    const st = stateCodeOf[t.to];
    const prevFlap = pts.flap.get(slot) === 1;
    const flap = t.flapping ?? prevFlap;
    const prevSince = pts.since.get(slot);
    const since = toUnixSeconds(t.at) || prevSince;
    const prevSt = pts.st.get(slot);
    if (st === prevSt && flap === prevFlap && since === prevSince) return true;
    pts.setState(slot, st, since, flap);
    const id = pts.table.id(slot) as string;
    const pointRegion = sharedCodes.value(pts.region.get(slot));
    for (const regionId of this.tree.ancestorsOrSelf(pointRegion)) {
      const rooms = this.roomsByRegion.get(regionId);
      if (!rooms) continue;
      for (const room of rooms) {
        if (!room.visibility(slot)) continue;
        const child = this.tree.childToward(room.regionId, pointRegion);
        if (prevSt !== st) {
          room.counts.total[prevSt]--;
          room.counts.total[st]++;
          const bucket = child === null ? room.counts.self : (room.counts.children[child] ??= emptyCounts());
          bucket[prevSt]--;
          bucket[st]++;
          if (child === null) room.selfChanged = true;
          else room.changedChildren.add(child);
        }
        room.pending.add(id);
        this.scheduleFlush(room);
      }
    }
    return true;
  }

  /** Joins (creating if needed) the room for a region as seen by a viewer. The region must exist. */
  join(regionId: string, viewer: Viewer): Room {
    const key = `${regionId}|${viewerKey(viewer)}`;
    let room = this.rooms.get(key);
    if (!room) {
      room = {
        key,
        name: `live:${key}`,
        regionId,
        viewer,
        epoch: newEpoch(),
        seq: 0,
        members: 0,
        counts: { total: emptyCounts(), self: emptyCounts(), children: {} },
        visibility: () => false,
        pending: new Set(),
        selfChanged: false,
        changedChildren: new Set(),
        ring: [],
        ringPoints: 0,
        lastFlushAt: 0,
        flushTimer: null,
        idleTimer: null,
      };
      this.rooms.set(key, room);
      this.indexRoom(room);
      this.resetRoom(room);
    }
    if (room.idleTimer) {
      clearTimeout(room.idleTimer);
      room.idleTimer = null;
    }
    room.members++;
    return room;
  }

  leave(room: Room): void {
    room.members = Math.max(0, room.members - 1);
    if (room.members > 0 || this.closed || !this.rooms.has(room.key)) return;
    room.idleTimer = setTimeout(() => {
      if (room.members === 0) this.dropRoom(room);
    }, this.opts.roomIdleMs);
    room.idleTimer.unref();
  }

  /** What a (re)subscribing member needs: a replay when its lastSeq is still in the ring, else a snapshot. */
  stateFor(room: Room, lastSeq?: number, epoch?: string): Snapshot | Delta {
    const serverTime = this.now();
    if (lastSeq !== undefined && epoch === room.epoch && lastSeq <= room.seq) {
      const oldest = room.ring.length ? room.ring[0].seq : room.seq + 1;
      if (lastSeq === room.seq || oldest <= lastSeq + 1) {
        const ids = new Set<string>();
        for (const b of room.ring) if (b.seq > lastSeq) for (const id of b.changes.ids) ids.add(id);
        for (const id of room.pending) ids.add(id);
        return {
          kind: 'delta',
          regionId: room.regionId,
          epoch: room.epoch,
          seq: room.seq,
          serverTime,
          changes: this.statesOf(ids),
          counts: cloneCounts(room.counts),
        };
      }
    }
    const slots: number[] = [];
    const vis = room.visibility;
    for (const regionId of this.tree.subtree(room.regionId)) {
      this.points.forEachIn(regionId, (slot) => {
        if (vis(slot)) slots.push(slot);
      });
    }
    return {
      kind: 'snapshot',
      regionId: room.regionId,
      epoch: room.epoch,
      seq: room.seq,
      serverTime,
      counts: cloneCounts(room.counts),
      points: this.statesOfSlots(slots),
    };
  }

  /** Ids of the points a viewer may see in a region's subtree (for the catalog endpoint). */
  visibleIds(regionId: string, viewer: Viewer): string[] {
    const vis = this.visibilityFor(viewer);
    const out: string[] = [];
    const pts = this.points;
    for (const r of this.tree.subtree(regionId)) {
      pts.forEachIn(r, (slot) => {
        if (vis(slot)) out.push(pts.table.id(slot) as string);
      });
    }
    return out;
  }

  /** Flushes everything pending now (used on shutdown and by tests). */
  flushAll(): void {
    for (const room of this.rooms.values()) if (room.pending.size) this.flush(room);
  }

  close(): void {
    this.closed = true;
    for (const room of this.rooms.values()) {
      if (room.flushTimer) clearTimeout(room.flushTimer);
      if (room.idleTimer) clearTimeout(room.idleTimer);
    }
    this.rooms.clear();
    this.roomsByRegion.clear();
  }

  private statesOf(ids: Iterable<string>): PointStates {
    const slots: number[] = [];
    for (const id of ids) {
      const slot = this.points.slot(id);
      if (slot !== -1) slots.push(slot);
    }
    return this.statesOfSlots(slots);
  }

  private statesOfSlots(slots: readonly number[]): PointStates {
    const pts = this.points;
    const out: PointStates = { ids: [], st: [], since: [], flap: [] };
    for (const slot of slots) {
      if (pts.flap.get(slot) === 1) out.flap.push(out.ids.length);
      out.ids.push(pts.table.id(slot) as string);
      out.st.push(pts.st.get(slot) as StateCode);
      out.since.push(pts.since.get(slot));
    }
    return out;
  }

  private visibilityFor(viewer: Viewer): Visibility {
    const sees = pointPredicate(viewer, this.tree);
    // the rule reads region, sharing and organisation only: its answer per combination of their codes is
    // kept (the closure is rebuilt with the tree), so a snapshot or a room's counts read three columns and
    // one map per point instead of building the rule's argument for each
    const memo = new Map<number, boolean>();
    // reads the index current at the call: a registry reload replaces it under rooms that stay
    return (slot) => {
      const pts = this.points;
      const region = pts.region.get(slot);
      const sharing = pts.sharing.get(slot);
      const org = pts.org.get(slot);
      // exact below 2^24 codes each (a dictionary that large is read through without the memo)
      const key = region < 0x1000000 && org < 0x1000000 ? (org * 0x1000000 + region) * 4 + sharing : -1;
      let yes = key === -1 ? undefined : memo.get(key);
      if (yes === undefined) {
        yes = sees({ regionId: sharedCodes.value(region), sharing: sharingValues[sharing], org: sharedCodes.value(org) });
        if (key !== -1) memo.set(key, yes);
      }
      return yes;
    };
  }

  private indexRoom(room: Room): void {
    let set = this.roomsByRegion.get(room.regionId);
    if (!set) this.roomsByRegion.set(room.regionId, (set = new Set()));
    set.add(room);
  }

  private resetRoom(room: Room): void {
    room.epoch = newEpoch();
    room.seq = 0;
    room.ring = [];
    room.ringPoints = 0;
    room.pending.clear();
    room.selfChanged = false;
    room.changedChildren.clear();
    if (room.flushTimer) clearTimeout(room.flushTimer);
    room.flushTimer = null;
    room.visibility = this.visibilityFor(room.viewer);
    const counts: RoomCounts = { total: emptyCounts(), self: emptyCounts(), children: {} };
    for (const child of this.tree.children(room.regionId)) counts.children[child] = emptyCounts();
    const pts = this.points;
    const vis = room.visibility;
    for (const regionId of this.tree.subtree(room.regionId)) {
      if (!pts.regionHasPoints(regionId)) continue;
      const child = this.tree.childToward(room.regionId, regionId);
      const bucket = child === null ? counts.self : (counts.children[child] ??= emptyCounts());
      pts.forEachIn(regionId, (slot) => {
        if (!vis(slot)) return;
        const st = pts.st.get(slot);
        counts.total[st]++;
        bucket[st]++;
      });
    }
    room.counts = counts;
  }

  private dropRoom(room: Room): void {
    if (room.flushTimer) clearTimeout(room.flushTimer);
    if (room.idleTimer) clearTimeout(room.idleTimer);
    this.rooms.delete(room.key);
    this.roomsByRegion.get(room.regionId)?.delete(room);
  }

  private scheduleFlush(room: Room): void {
    if (room.flushTimer || this.closed) return;
    const wait = Math.max(0, room.lastFlushAt + this.opts.batchMs - this.now());
    room.flushTimer = setTimeout(() => {
      room.flushTimer = null;
      this.flush(room);
    }, wait);
    room.flushTimer.unref();
  }

  private flush(room: Room): void {
    if (room.flushTimer) {
      clearTimeout(room.flushTimer);
      room.flushTimer = null;
    }
    if (room.pending.size === 0) return;
    const children: Record<string, StateCounts> = {};
    for (const c of room.changedChildren) children[c] = [...(room.counts.children[c] ?? emptyCounts())];
    const batch: StatusBatch = {
      regionId: room.regionId,
      epoch: room.epoch,
      seq: room.seq + 1,
      serverTime: this.now(),
      changes: this.statesOf(room.pending),
      counts: {
        total: [...room.counts.total],
        ...(room.selfChanged ? { self: [...room.counts.self] } : {}),
        children,
      },
    };
    room.seq = batch.seq;
    room.pending.clear();
    room.changedChildren.clear();
    room.selfChanged = false;
    room.lastFlushAt = this.now();
    room.ring.push(batch);
    room.ringPoints += batch.changes.ids.length;
    while (room.ring.length > this.opts.ringBatches || (room.ring.length > 1 && room.ringPoints > this.opts.ringPoints)) {
      const dropped = room.ring.shift() as StatusBatch;
      room.ringPoints -= dropped.changes.ids.length;
    }
    this.opts.emitBatch(room.name, batch);
  }
}

function cloneCounts(c: RoomCounts): RoomCounts {
  const children: Record<string, StateCounts> = {};
  for (const [k, v] of Object.entries(c.children)) children[k] = [...v];
  return { total: [...c.total], self: [...c.self], children };
}

function sameShape(a: RegionTree, b: RegionTree): boolean {
  if (a.size !== b.size) return false;
  for (const r of a.all()) {
    const o = b.get(r.id);
    if (!o || o.parentId !== r.parentId) return false;
  }
  return true;
}

function sameMembership(a: LivePoints, b: LivePoints): boolean {
  if (a.size !== b.size) return false;
  for (const [id, s] of a.table.entries()) {
    const o = b.slot(id);
    if (o === -1 || a.region.get(s) !== b.region.get(o) || a.sharing.get(s) !== b.sharing.get(o) || a.org.get(s) !== b.org.get(o)) return false;
  }
  return true;
}
