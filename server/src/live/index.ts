import express, { type Router } from 'express';
import type { Server } from 'socket.io';
import { devPrincipal, type Principal } from '../contracts/access';
import { canSeeRegion } from '../auth/scope';
import type { AppContext } from '../context';
import type { CameraState } from '../contracts/live';
import { AppError } from '../lib/errors';
import { LiveHub, type PointEntry, type TransitionInput } from './hub';
import type { RegionTree } from '../regions/tree';
import { liveRoutes } from './routes';
import { attachLiveNamespace, LOAD_ROOM, type LiveNamespace, type SocketMiddleware } from './socket';
import type { MonitoringLoad } from '../contracts/monitoring';
import { buildCatalog, loadedFromDoc, PointAttrTable, storeSource, type LiveSource, type LoadedPoint } from './source';

/** One transition as the monitoring change feed delivers it (only the fields live push reads). */
export interface FeedTransition {
  cameraId: string;
  to: CameraState;
  at: Date | string | number;
  flapping?: boolean;
}

export interface TransitionFeed {
  subscribe(listener: (t: FeedTransition) => void): () => void;
}

/** Anything with the registry services' `onChange` (regions and cameras both have one). */
export interface ChangeSource {
  onChange(listener: (e: unknown) => void): () => void;
}

export interface RegistryChanges {
  /** The regions service: its change feed and the one region tree (regions/tree.ts) as it stands now. */
  regions: ChangeSource & { current(): RegionTree };
  cameras: ChangeSource;
}

export interface LiveDeps {
  /** The monitoring change feed; without it the periodic reconcile is the only source of state changes. */
  feed?: TransitionFeed;
  /** The registry: the one region tree and the change notifications that keep the index current. */
  registry: RegistryChanges;
  /** The auth capability's Socket.IO middleware; without it only AUTH_MODE=open connects (as the dev admin). */
  socketAuth?: SocketMiddleware;
  /** The auth capability's subscribe check; defaults to the registry-scope rule in auth/scope.ts. */
  assertCanSubscribe?: (principal: Principal, regionId: string, regions: RegionTree) => void;
  source?: LiveSource;
  /** The polling engine's load figure (the console's overload banner): its value now and its changes. */
  load?: { load(): MonitoringLoad; onLoad(listener: (l: MonitoringLoad) => void): () => void };
}

export interface Live {
  /** REST routes under /api/v1 (mount on the API router before its not-found handler). */
  router: Router;
  /** Attaches namespace /live and starts loading the hot index. */
  attach(io: Server): LiveNamespace;
  /** Applies a transition directly (the feed adapter, and tests). */
  applyTransition(t: TransitionInput): void;
  /** Re-reads regions and points from the store now (after a registry change). */
  reload(): Promise<void>;
  ready(): Promise<LiveHub>;
  /** Full reads of the registry so far, and transitions waiting for their point to be indexed. */
  stats(): { loads: number; orphans: number };
}

function openModeAuth(ctx: AppContext): SocketMiddleware {
  return (socket, next) => {
    if (ctx.config.AUTH_MODE === 'open') {
      socket.data.principal = devPrincipal;
      next();
      return;
    }
    next(new Error('unauthenticated'));
  };
}

function defaultSubscribeCheck(principal: Principal, regionId: string, regions: RegionTree): void {
  // out of scope reads as not found: the region's existence is not revealed
  if (!regions.has(regionId) || !canSeeRegion(principal, regions, regionId)) throw AppError.notFound('region');
}

const lives = new WeakMap<AppContext, Live>();

/** The live capability of this app (keyed by context, like the other capabilities). */
export function liveOf(ctx: AppContext): Live {
  const live = lives.get(ctx);
  if (!live) throw new Error('live is not set up for this app (call createLive(ctx) first)');
  return live;
}

/**
 * Live push: the hot in-memory index of every point's state, rooms per (region, visibility scope), and
 * the `/live` namespace. Fed by the monitoring change feed; the store stays the source of truth, so the
 * index is reloaded on registry changes and reconciled periodically.
 */
export function createLive(ctx: AppContext, deps: LiveDeps): Live {
  const { config, logger } = ctx;
  const log = logger.child({ component: 'live' });
  const source = deps.source ?? storeSource(ctx.store);
  let hub: LiveHub | null = null;
  let nsp: LiveNamespace | null = null;
  let loadedAt = 0;
  let loading: Promise<LiveHub> | null = null;
  let stopped = false;
  const early: TransitionInput[] = [];
  /**
   * The newest transition of each point the index did not know yet (a point just created: its first check
   * can beat the registry change into the index, and the store's copy of its status may not be written
   * yet). Applied as soon as the point is indexed, so a first UNKNOWN→UP is never lost.
   */
  const orphans = new Map<string, { t: TransitionInput; at: number }>();
  const ORPHANS_MAX = 100_000;
  const applyOrphans = (h: LiveHub): void => {
    for (const [id, o] of orphans) if (h.applyTransition(o.t)) orphans.delete(id);
  };
  /**
   * Points deleted lately: a check already in flight when its point was deleted still reports, and that
   * transition must neither wait as an orphan nor cost a full read of the registry.
   */
  const recentlyDeleted = new Set<string>();
  const RECENTLY_DELETED_MAX = 10_000;
  /** Full reads started for transitions of unknown points are this far apart at least (one is ~15 CPU-s at 300k). */
  const ORPHAN_LOAD_GAP_MS = 10_000;
  let orphanLoadTimer: NodeJS.Timeout | null = null;
  let loads = 0;
  /** Attributes of every point (names, addresses…): the catalog endpoint is served from here. */
  let attrs = new PointAttrTable();

  const makeHub = (tree: RegionTree, points: PointEntry[]): LiveHub =>
    new LiveHub(tree, points, {
      batchMs: config.LIVE_BATCH_MS,
      ringBatches: config.LIVE_REPLAY_BATCHES,
      ringPoints: config.LIVE_REPLAY_POINTS,
      roomIdleMs: config.LIVE_ROOM_IDLE_SEC * 1000,
      emitBatch: (room, batch) => nsp?.to(room).emit('status:changed', batch),
      emitResync: (room, notice) => nsp?.to(room).emit('status:resync', notice),
    });

  /** Full read of regions and points (start-up, reconcile, registries without change events). */
  const load = (): Promise<LiveHub> => {
    loading ??= (async () => {
      const started = Date.now();
      loads++;
      const points = await source.points();
      const tree = deps.registry.regions.current();
      const entries = points.map((p) => p.entry);
      const nextAttrs = new PointAttrTable();
      for (const p of points) nextAttrs.set(p.entry.id, p.attrs);
      const attrsChanged = !attrs.sameAs(nextAttrs);
      attrs = nextAttrs;
      if (!hub) hub = makeHub(tree, entries);
      // consoles hold names, addresses… from the catalog: edits reach them through a resync
      else if (!hub.replaceData(tree, entries) && attrsChanged) hub.resyncAll();
      // transitions that arrived while the store was being read are newer than what it returned
      for (const t of early.splice(0)) if (!hub.applyTransition(t)) orphans.set(t.cameraId, { t, at: started });
      applyOrphans(hub);
      // an orphan older than this read belongs to no point the registry holds: a late report of a point
      // gone meanwhile. Kept, each would trigger another full read
      for (const [id, o] of orphans) if (o.at < started) orphans.delete(id);
      loadedAt = started;
      log.debug('live index loaded', { regions: tree.size, points: points.length, ms: Date.now() - started });
      return hub;
    })().finally(() => {
      loading = null;
    });
    return loading;
  };

  // Registry change events are applied in memory (no store scan): upserts carry the stored point.
  const pendingUpserts = new Map<string, LoadedPoint>();
  const pendingDeletes = new Set<string>();
  let regionsDirty = false;
  let needFullLoad = false;
  const applyRegistryChanges = async (): Promise<void> => {
    // A full read in flight took its snapshot of the store before some of the pending changes were written:
    // applied now, they would be overwritten by that older snapshot when it lands (a demo load's later points
    // vanished from the board until the next reconcile). Apply them after it, and never fold them into it.
    while (loading) await loading.catch(() => undefined);
    if (!hub || needFullLoad) {
      needFullLoad = false;
      pendingUpserts.clear();
      pendingDeletes.clear();
      regionsDirty = false;
      await load();
      return;
    }
    const current = hub;
    if (regionsDirty) {
      // the tree itself changed: rebuild (rare: region CRUD)
      const tree = deps.registry.regions.current();
      regionsDirty = false;
      let attrsChanged = false;
      const entries = new Map(current.allPoints().map((p) => [p.id, p]));
      for (const id of pendingDeletes) {
        entries.delete(id);
        attrs.delete(id);
      }
      for (const [id, p] of pendingUpserts) {
        const prev = entries.get(id);
        // the registry's copy of the state may be older than the change feed's: keep the live one
        entries.set(id, prev ? { ...p.entry, st: prev.st, since: prev.since, flap: prev.flap } : p.entry);
        if (!attrs.same(id, p.attrs)) attrsChanged = true;
        attrs.set(id, p.attrs);
      }
      pendingDeletes.clear();
      pendingUpserts.clear();
      if (!current.replaceData(tree, [...entries.values()]) && attrsChanged) current.resyncAll();
      applyOrphans(current);
      return;
    }
    // points only: applied in place, O(changed points)
    const upserts: PointEntry[] = [];
    const attrsChanged = new Set<string>();
    for (const id of pendingDeletes) attrs.delete(id);
    for (const [id, p] of pendingUpserts) {
      // the hub keeps whichever state is newer, the registry's copy or the change feed's
      upserts.push(p.entry);
      if (!attrs.same(id, p.attrs)) attrsChanged.add(id);
      attrs.set(id, p.attrs);
    }
    const deletes = [...pendingDeletes];
    pendingDeletes.clear();
    pendingUpserts.clear();
    current.applyPointChanges(upserts, deletes, attrsChanged);
    applyOrphans(current);
  };

  const ready = async (): Promise<LiveHub> => {
    // a region created a moment ago must be subscribable at once: apply a pending region change now
    // instead of after the burst debounce
    if (hub && regionsDirty && reloadTimer) {
      clearTimeout(reloadTimer);
      reloadTimer = null;
      applying = applying
        .then(() => (stopped ? undefined : applyRegistryChanges()))
        .catch((err: unknown) => log.warn('live: registry change not applied', { err }));
    }
    if (hub) {
      await applying;
      return hub;
    }
    return loading ?? load();
  };

  const applyTransition = (t: TransitionInput): void => {
    if (loading) early.push(t);
    if (!hub) return;
    if (hub.applyTransition(t)) return;
    // a point the index does not know yet was just created: keep the transition until it is indexed, and
    // re-read unless its registry change is about to be applied anyway
    if (recentlyDeleted.has(t.cameraId)) return;
    if (orphans.size >= ORPHANS_MAX) orphans.clear();
    orphans.set(t.cameraId, { t, at: Date.now() });
    if (pendingUpserts.has(t.cameraId) || loading || orphanLoadTimer) return;
    const wait = loadedAt + ORPHAN_LOAD_GAP_MS - Date.now();
    orphanLoadTimer = setTimeout(
      () => {
        orphanLoadTimer = null;
        if (!stopped && orphans.size) void load().catch((err: unknown) => log.warn('live reload failed', { err }));
      },
      Math.max(0, wait),
    );
  };

  const unsubscribers: Array<() => void> = [];
  if (deps.feed) {
    unsubscribers.push(
      deps.feed.subscribe((t) => {
        try {
          applyTransition({ cameraId: t.cameraId, to: t.to, at: t.at, ...(t.flapping !== undefined ? { flapping: t.flapping } : {}) });
        } catch (err) {
          log.error('live: transition not applied', { err, cameraId: t.cameraId });
        }
      }),
    );
  }
  const loadSource = deps.load;
  if (loadSource) unsubscribers.push(loadSource.onLoad((l) => nsp?.to(LOAD_ROOM).emit('monitoring:load', l)));
  let reloadTimer: NodeJS.Timeout | null = null;
  let applying: Promise<void> = Promise.resolve();
  const scheduleRegistryApply = (): void => {
    // an import emits one change per point: apply the burst at once
    if (reloadTimer) return;
    reloadTimer = setTimeout(() => {
      reloadTimer = null;
      applying = applying
        .then(() => (stopped ? undefined : applyRegistryChanges()))
        .catch((err: unknown) => log.warn('live: registry change not applied', { err }));
    }, 200);
  };
  unsubscribers.push(
    deps.registry.cameras.onChange((e) => {
      const change = e as { kind?: string; id?: string; camera?: unknown };
      if (change.kind === 'delete' && typeof change.id === 'string') {
        pendingUpserts.delete(change.id);
        pendingDeletes.add(change.id);
        orphans.delete(change.id);
        if (recentlyDeleted.size >= RECENTLY_DELETED_MAX) recentlyDeleted.delete(recentlyDeleted.values().next().value as string);
        recentlyDeleted.add(change.id);
      } else {
        const loaded = change.camera && typeof change.camera === 'object' ? loadedFromDoc(change.camera) : null;
        if (loaded) {
          pendingDeletes.delete(loaded.entry.id);
          pendingUpserts.set(loaded.entry.id, loaded);
        } else needFullLoad = true;
      }
      scheduleRegistryApply();
    }),
    deps.registry.regions.onChange(() => {
      regionsDirty = true;
      scheduleRegistryApply();
    }),
  );

  let reconcileTimer: NodeJS.Timeout | null = null;
  if (config.LIVE_RECONCILE_SEC > 0) {
    reconcileTimer = setInterval(() => {
      if (hub && !stopped && !loading) void load().catch((err: unknown) => log.warn('live reconcile failed', { err }));
    }, config.LIVE_RECONCILE_SEC * 1000);
    reconcileTimer.unref();
  }

  ctx.onStop(() => {
    stopped = true;
    for (const u of unsubscribers) u();
    if (reconcileTimer) clearInterval(reconcileTimer);
    if (reloadTimer) clearTimeout(reloadTimer);
    if (orphanLoadTimer) clearTimeout(orphanLoadTimer);
    hub?.close();
  });

  const router = express.Router();
  const assertCanWatch = deps.assertCanSubscribe ?? defaultSubscribeCheck;
  liveRoutes(router, ctx, { ready, source, assertCanWatch, catalog: (regionId, ids) => buildCatalog(regionId, ids, attrs) });

  const live: Live = {
    router,
    attach(io) {
      nsp = attachLiveNamespace(io, {
        authenticate: deps.socketAuth ?? openModeAuth(ctx),
        assertCanSubscribe: assertCanWatch,
        ready,
        ...(loadSource ? { currentLoad: () => loadSource.load() } : {}),
        logger: log,
      });
      void load().catch((err: unknown) => log.warn('live index not loaded yet', { err }));
      return nsp;
    },
    applyTransition,
    reload: async () => {
      await load();
    },
    ready,
    stats: () => ({ loads, orphans: orphans.size }),
  };
  lives.set(ctx, live);
  return live;
}
