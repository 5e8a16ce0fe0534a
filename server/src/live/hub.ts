import { randomBytes } from 'node:crypto';
import { cameraVisibility } from '../auth/scope';
import type { Principal } from '../auth/principal';
import {
  cameraStates,
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
import type { RegionTree } from './region-tree';

/** 0 own, 1 up, 2 all — the registry's `sharing`, as a code. */
export type SharingCode = 0 | 1 | 2;

export interface PointEntry {
  id: string;
  regionId: string;
  sharing: SharingCode;
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

/** Who watches a room: the part of a principal that decides visibility. */
export interface ViewerScope {
  /** null = global. */
  scopeRegionId: string | null;
}

export function scopeOf(principal: Principal): ViewerScope {
  return { scopeRegionId: principal.scopeRegionId };
}

function scopeKey(s: ViewerScope): string {
  return s.scopeRegionId === null ? '*' : `s:${s.scopeRegionId}`;
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

interface Visibility {
  all: boolean;
  own: Set<string>;
  up: Set<string>;
}

export interface Room {
  readonly key: string;
  /** Socket.IO room name. */
  readonly name: string;
  readonly regionId: string;
  readonly scope: ViewerScope;
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

const emptyCounts = (): StateCounts => cameraStates.map(() => 0);

function toUnixSeconds(at: Date | number | string): number {
  const ms = at instanceof Date ? at.getTime() : typeof at === 'number' ? at : Date.parse(at);
  return Number.isFinite(ms) ? Math.floor(ms / 1000) : 0;
}

function newEpoch(): string {
  return randomBytes(6).toString('hex');
}

/**
 * The live state of every point and the rooms that watch subtrees of the region tree.
 *
 * A room is one (region, viewer scope) pair: everyone in it sees exactly the same set of points, so one
 * batch serves all its sockets and a street operator is never in a room that carries another street's
 * unshared points. A transition goes to the rooms of the point's region and of all its ancestors whose
 * scope may see the point. Changes are coalesced per point and flushed at most once per `batchMs`.
 */
export class LiveHub {
  private tree: RegionTree;
  private readonly points = new Map<string, PointEntry>();
  private readonly byRegion = new Map<string, Set<string>>();
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
    return [...this.points.values()];
  }

  getPoint(id: string): PointEntry | undefined {
    return this.points.get(id);
  }

  private loadPoints(points: Iterable<PointEntry>): void {
    this.points.clear();
    this.byRegion.clear();
    for (const p of points) {
      this.points.set(p.id, { ...p });
      let set = this.byRegion.get(p.regionId);
      if (!set) this.byRegion.set(p.regionId, (set = new Set()));
      set.add(p.id);
    }
  }

  /**
   * Replaces tree and points after a registry change. Rooms whose view changed shape get a new epoch,
   * fresh counts and a `status:resync`; rooms whose members only see state changes get those as a batch.
   */
  replaceData(tree: RegionTree, points: Iterable<PointEntry>): boolean {
    const before = this.points;
    const prevTree = this.tree;
    const old = new Map(before);
    this.tree = tree;
    // the store may lag the change feed (writes are batched): never go back to an older state
    const merged: PointEntry[] = [];
    for (const p of points) {
      const o = old.get(p.id);
      merged.push(o && o.since > p.since ? { ...p, st: o.st, since: o.since, flap: o.flap } : p);
    }
    this.loadPoints(merged);
    const shapeChanged = !sameShape(prevTree, tree) || !sameMembership(old, this.points);
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
    for (const [id, p] of this.points) {
      const o = old.get(id);
      if (o && (o.st !== p.st || o.flap !== p.flap || o.since !== p.since)) {
        // restore the old entry so the change flows through the one transition path (counts + batches)
        this.points.set(id, o);
        this.applyTransition({ cameraId: id, to: cameraStates[p.st], at: p.since * 1000, flapping: p.flap });
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
    const remove = (id: string): PointEntry | undefined => {
      const o = this.points.get(id);
      if (!o) return undefined;
      this.points.delete(id);
      const set = this.byRegion.get(o.regionId);
      set?.delete(id);
      if (set?.size === 0) this.byRegion.delete(o.regionId);
      touched.add(o.regionId);
      return o;
    };
    for (const id of deletes) remove(id);
    for (const p of upserts) {
      const o = this.points.get(p.id);
      if (o && o.regionId === p.regionId && o.sharing === p.sharing) {
        if (attrsChanged.has(p.id)) touched.add(p.regionId);
        if (o.since <= p.since && (o.st !== p.st || o.flap !== p.flap || o.since !== p.since)) {
          this.applyTransition({ cameraId: p.id, to: cameraStates[p.st], at: p.since * 1000, flapping: p.flap });
        }
        continue;
      }
      const old = o ? remove(p.id) : undefined;
      this.points.set(p.id, old && old.since > p.since ? { ...p, st: old.st, since: old.since, flap: old.flap } : { ...p });
      let set = this.byRegion.get(p.regionId);
      if (!set) this.byRegion.set(p.regionId, (set = new Set()));
      set.add(p.id);
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
    const p = this.points.get(t.cameraId);
    if (!p) return false;
    const st = stateCodeOf[t.to];
    const flap = t.flapping ?? p.flap;
    const since = toUnixSeconds(t.at) || p.since;
    if (st === p.st && flap === p.flap && since === p.since) return true;
    const prevSt = p.st;
    const updated: PointEntry = { ...p, st, flap, since };
    this.points.set(p.id, updated);
    for (const regionId of this.tree.ancestorsOrSelf(p.regionId)) {
      const rooms = this.roomsByRegion.get(regionId);
      if (!rooms) continue;
      for (const room of rooms) {
        if (!visible(room.visibility, p)) continue;
        const child = this.tree.childToward(room.regionId, p.regionId);
        if (prevSt !== st) {
          room.counts.total[prevSt]--;
          room.counts.total[st]++;
          const bucket = child === null ? room.counts.self : (room.counts.children[child] ??= emptyCounts());
          bucket[prevSt]--;
          bucket[st]++;
          if (child === null) room.selfChanged = true;
          else room.changedChildren.add(child);
        }
        room.pending.add(p.id);
        this.scheduleFlush(room);
      }
    }
    return true;
  }

  /** Joins (creating if needed) the room for a region as seen by a scope. The region must exist. */
  join(regionId: string, scope: ViewerScope): Room {
    const key = `${regionId}|${scopeKey(scope)}`;
    let room = this.rooms.get(key);
    if (!room) {
      room = {
        key,
        name: `live:${key}`,
        regionId,
        scope,
        epoch: newEpoch(),
        seq: 0,
        members: 0,
        counts: { total: emptyCounts(), self: emptyCounts(), children: {} },
        visibility: { all: true, own: new Set(), up: new Set() },
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
    const ids: string[] = [];
    for (const regionId of this.tree.subtree(room.regionId)) {
      const set = this.byRegion.get(regionId);
      if (!set) continue;
      for (const id of set) {
        const p = this.points.get(id);
        if (p && visible(room.visibility, p)) ids.push(id);
      }
    }
    return {
      kind: 'snapshot',
      regionId: room.regionId,
      epoch: room.epoch,
      seq: room.seq,
      serverTime,
      counts: cloneCounts(room.counts),
      points: this.statesOf(ids),
    };
  }

  /** Ids of the points a scope may see in a region's subtree (for the catalog endpoint). */
  visibleIds(regionId: string, scope: ViewerScope): string[] {
    const vis = this.visibilityFor(scope);
    const out: string[] = [];
    for (const r of this.tree.subtree(regionId)) {
      const set = this.byRegion.get(r);
      if (!set) continue;
      for (const id of set) {
        const p = this.points.get(id);
        if (p && visible(vis, p)) out.push(id);
      }
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
    const out: PointStates = { ids: [], st: [], since: [], flap: [] };
    for (const id of ids) {
      const p = this.points.get(id);
      if (!p) continue;
      if (p.flap) out.flap.push(out.ids.length);
      out.ids.push(id);
      out.st.push(p.st);
      out.since.push(p.since);
    }
    return out;
  }

  private visibilityFor(scope: ViewerScope): Visibility {
    if (scope.scopeRegionId === null) return { all: true, own: new Set(), up: new Set() };
    const v = cameraVisibility(
      { kind: 'dev', userId: '', username: '', role: 'viewer', scopeRegionId: scope.scopeRegionId },
      this.tree,
    );
    if (v === null) return { all: true, own: new Set(), up: new Set() };
    return { all: false, own: new Set(v.ownRegionIds), up: new Set(v.upRegionIds) };
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
    room.visibility = this.visibilityFor(room.scope);
    const counts: RoomCounts = { total: emptyCounts(), self: emptyCounts(), children: {} };
    for (const child of this.tree.children(room.regionId)) counts.children[child] = emptyCounts();
    for (const regionId of this.tree.subtree(room.regionId)) {
      const set = this.byRegion.get(regionId);
      if (!set || set.size === 0) continue;
      const child = this.tree.childToward(room.regionId, regionId);
      const bucket = child === null ? counts.self : (counts.children[child] ??= emptyCounts());
      for (const id of set) {
        const p = this.points.get(id);
        if (!p || !visible(room.visibility, p)) continue;
        counts.total[p.st]++;
        bucket[p.st]++;
      }
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

function visible(v: Visibility, p: PointEntry): boolean {
  if (v.all || p.sharing === 2) return true;
  if (v.own.has(p.regionId)) return true;
  return p.sharing === 1 && v.up.has(p.regionId);
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

function sameMembership(a: Map<string, PointEntry>, b: Map<string, PointEntry>): boolean {
  if (a.size !== b.size) return false;
  for (const [id, p] of a) {
    const o = b.get(id);
    if (!o || o.regionId !== p.regionId || o.sharing !== p.sharing) return false;
  }
  return true;
}
