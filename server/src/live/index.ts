import express, { type Router } from 'express';
import type { Server } from 'socket.io';
import { devPrincipal, type Principal } from '../auth/principal';
import { canSeeRegion } from '../auth/scope';
import type { AppContext } from '../context';
import type { CameraState } from '../contracts/live';
import { AppError } from '../lib/errors';
import { LiveHub, type TransitionInput } from './hub';
import { RegionTree } from './region-tree';
import { liveRoutes } from './routes';
import { attachLiveNamespace, type LiveNamespace, type SocketMiddleware } from './socket';
import { storeSource, type LiveSource } from './source';

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

export interface RegistryChanges {
  onChange(listener: (e: { entity: string; op: string; ids?: string[] }) => void): () => void;
}

export interface LiveDeps {
  /** The monitoring change feed; without it the periodic reconcile is the only source of state changes. */
  feed?: TransitionFeed;
  /** Registry change notifications; without them the index is re-read before a subscribe when stale. */
  registry?: RegistryChanges;
  /** The auth capability's Socket.IO middleware; without it only AUTH_MODE=open connects (as the dev admin). */
  socketAuth?: SocketMiddleware;
  /** The auth capability's subscribe check; defaults to the registry-scope rule in auth/scope.ts. */
  assertCanSubscribe?: (principal: Principal, regionId: string, regions: RegionTree) => void;
  source?: LiveSource;
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

/** Index older than this is re-read before answering a subscribe when no registry notifications arrive. */
const STALE_WITHOUT_NOTIFICATIONS_MS = 5_000;

/**
 * Live push: the hot in-memory index of every point's state, rooms per (region, visibility scope), and
 * the `/live` namespace. Fed by the monitoring change feed; the store stays the source of truth, so the
 * index is reloaded on registry changes and reconciled periodically.
 */
export function createLive(ctx: AppContext, deps: LiveDeps = {}): Live {
  const { config, logger } = ctx;
  const log = logger.child({ component: 'live' });
  const source = deps.source ?? storeSource(ctx.store);
  let hub: LiveHub | null = null;
  let nsp: LiveNamespace | null = null;
  let loadedAt = 0;
  let loading: Promise<LiveHub> | null = null;
  let stopped = false;
  const early: TransitionInput[] = [];

  const load = (): Promise<LiveHub> => {
    loading ??= (async () => {
      const started = Date.now();
      const [regions, points] = await Promise.all([source.regions(), source.points()]);
      const tree = new RegionTree(regions);
      if (!hub) {
        hub = new LiveHub(tree, points, {
          batchMs: config.LIVE_BATCH_MS,
          ringBatches: config.LIVE_REPLAY_BATCHES,
          ringPoints: config.LIVE_REPLAY_POINTS,
          roomIdleMs: config.LIVE_ROOM_IDLE_SEC * 1000,
          emitBatch: (room, batch) => nsp?.to(room).emit('status:changed', batch),
          emitResync: (room, notice) => nsp?.to(room).emit('status:resync', notice),
        });
      } else {
        hub.replaceData(tree, points);
      }
      // transitions that arrived while the store was being read are newer than what it returned
      for (const t of early.splice(0)) hub.applyTransition(t);
      loadedAt = started;
      log.debug('live index loaded', { regions: regions.length, points: points.length, ms: Date.now() - started });
      return hub;
    })().finally(() => {
      loading = null;
    });
    return loading;
  };

  const ready = async (): Promise<LiveHub> => {
    if (hub && (deps.registry || Date.now() - loadedAt < STALE_WITHOUT_NOTIFICATIONS_MS)) return hub;
    if (hub && loading === null && !deps.registry) return load();
    return loading ?? load();
  };

  const applyTransition = (t: TransitionInput): void => {
    if (loading) early.push(t);
    if (!hub) return;
    // a point the index does not know yet was just created: re-read instead of guessing its region
    if (!hub.applyTransition(t)) void load().catch((err: unknown) => log.warn('live reload failed', { err }));
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
  let reloadTimer: NodeJS.Timeout | null = null;
  if (deps.registry) {
    unsubscribers.push(
      deps.registry.onChange(() => {
        // an import emits many changes: one reload after the burst
        if (reloadTimer) return;
        reloadTimer = setTimeout(() => {
          reloadTimer = null;
          if (!stopped) void load().catch((err: unknown) => log.warn('live reload failed', { err }));
        }, 200);
      }),
    );
  }

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
    hub?.close();
  });

  const router = express.Router();
  const assertCanWatch = deps.assertCanSubscribe ?? defaultSubscribeCheck;
  liveRoutes(router, ctx, { ready, source, assertCanWatch });

  return {
    router,
    attach(io) {
      nsp = attachLiveNamespace(io, {
        authenticate: deps.socketAuth ?? openModeAuth(ctx),
        assertCanSubscribe: assertCanWatch,
        ready,
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
  };
}
