import { computed, shallowRef, ref } from 'vue';
import { io, type Socket } from 'socket.io-client';
import {
  cameraStates,
  emptyStateCounts,
  LIVE_NAMESPACE,
  type Ack,
  type CameraState,
  type ClientToServerEvents,
  type LiveRegions,
  type PointCatalog,
  type PointStates,
  type ServerToClientEvents,
  type StateCode,
  type StatusBatch,
  type SubscribeResult,
} from '@contracts/live';
import { regionTiers } from '@contracts/vocabulary';
import type { MonitoringLoad } from '@contracts/monitoring';
import type { IncidentEvent, IncidentView } from '@contracts/incidents';
import { get, notifyUnauthenticated } from './api';

type LiveRegion = LiveRegions['regions'][number];
/** Tiers top down, so children sort district → street → community → grid. */
const tierOrder = new Map<string, number>(regionTiers.map((tier, i) => [tier, i]));

/** A visible region as `/live/regions` lists it, linked into the console's tree. */
export interface RegionNode extends LiveRegion {
  depth: number;
  children: RegionNode[];
}

/** The least time between the starts of two catalog reloads. */
const RESYNC_GAP_MS = 3000;

export type ConnectionState = 'idle' | 'connecting' | 'live' | 'offline' | 'resyncing' | 'error';

export interface NewOutage {
  index: number;
  at: number;
}

/**
 * The console's one copy of live state: the visible region tree, the point catalog (attributes) and the
 * states pushed over `/live`, held in typed arrays outside Vue's reactivity (100,000 points); `version`
 * ticks whenever they change so views recompute.
 */
class Board {
  readonly version = ref(0);
  readonly connection = ref<ConnectionState>('idle');
  readonly lastError = ref<string | null>(null);
  readonly rootId = ref<string | null>(null);
  readonly regionsVersion = ref(0);
  readonly newOutages = shallowRef<NewOutage[]>([]);
  /** The polling engine's load as the server pushes it (the overload banner); null until the first. */
  readonly load = shallowRef<MonitoringLoad | null>(null);

  regions = new Map<string, RegionNode>();
  roots: RegionNode[] = [];
  catalog: PointCatalog | null = null;
  idx = new Map<string, number>();
  st = new Uint8Array(0);
  since = new Float64Array(0);
  flap = new Uint8Array(0);
  /** Region id of each catalog point. */
  pointRegion: string[] = [];
  /** Subtree counts per region (by state code), maintained incrementally. */
  counts = new Map<string, number[]>();
  epoch: string | null = null;
  seq = 0;
  batchesApplied = 0;
  private socket: Socket<ServerToClientEvents, ClientToServerEvents> | null = null;
  private outageListeners: Array<(o: NewOutage[]) => void> = [];
  private incidentListeners: Array<(event: IncidentEvent, incident: IncidentView) => void> = [];
  private catalogReload: Promise<void> | null = null;
  /** A resync was asked for while one ran: its catalog may predate the change, so one more follows. */
  private resyncAgain = false;
  private resyncTimer: ReturnType<typeof setTimeout> | null = null;
  private lastResyncAt = 0;

  get size(): number {
    return this.catalog?.ids.length ?? 0;
  }

  onNewOutages(fn: (o: NewOutage[]) => void): () => void {
    this.outageListeners.push(fn);
    return () => {
      this.outageListeners = this.outageListeners.filter((f) => f !== fn);
    };
  }

  /** Incident events pushed on the same socket (only to users who may read alerts, as they may see them). */
  onIncident(fn: (event: IncidentEvent, incident: IncidentView) => void): () => void {
    this.incidentListeners.push(fn);
    return () => {
      this.incidentListeners = this.incidentListeners.filter((f) => f !== fn);
    };
  }

  private emitIncident(event: IncidentEvent, incident: IncidentView): void {
    for (const l of this.incidentListeners) l(event, incident);
  }

  async start(): Promise<void> {
    if (this.socket) return;
    await this.loadRegions();
    await this.loadCatalog();
    this.connect();
  }

  stop(): void {
    if (this.resyncTimer) clearTimeout(this.resyncTimer);
    this.resyncTimer = null;
    this.socket?.disconnect();
    this.socket = null;
    this.connection.value = 'idle';
  }

  async loadRegions(): Promise<void> {
    const res = await get<LiveRegions>('/live/regions');
    const map = new Map<string, RegionNode>();
    for (const r of res.regions) map.set(r.id, { ...r, depth: 0, children: [] });
    const roots: RegionNode[] = [];
    for (const n of map.values()) {
      const p = n.parentId ? map.get(n.parentId) : undefined;
      if (p) p.children.push(n);
      else roots.push(n);
    }
    const walk = (n: RegionNode, d: number): void => {
      n.depth = d;
      n.children.sort((a, b) => (tierOrder.get(a.tier) ?? 9) - (tierOrder.get(b.tier) ?? 9) || a.name.localeCompare(b.name, 'zh-CN'));
      for (const c of n.children) walk(c, d + 1);
    };
    for (const r of roots) walk(r, 0);
    this.regions = map;
    this.roots = roots;
    this.ancestorCache = new Map();
    const scope = res.scopeRegionId && map.has(res.scopeRegionId) ? res.scopeRegionId : (roots[0]?.id ?? null);
    this.rootId.value = scope;
    this.regionsVersion.value++;
  }

  async loadCatalog(): Promise<void> {
    const root = this.rootId.value;
    if (!root) {
      this.setCatalog(null);
      return;
    }
    this.setCatalog(await get<PointCatalog>(`/live/points?regionId=${encodeURIComponent(root)}`));
  }

  private setCatalog(cat: PointCatalog | null): void {
    const n = cat?.ids.length ?? 0;
    const oldIdx = this.idx;
    const oldSt = this.st;
    const oldSince = this.since;
    const oldFlap = this.flap;
    this.catalog = cat;
    this.idHash = null;
    this.idx = new Map();
    this.st = new Uint8Array(n);
    this.since = new Float64Array(n);
    this.flap = new Uint8Array(n);
    this.pointRegion = new Array<string>(n);
    if (cat) {
      for (let i = 0; i < n; i++) {
        this.idx.set(cat.ids[i], i);
        // a point in a grid (网格) counts toward the grid, which lies inside its community
        const grid = cat.grid[i] >= 0 ? cat.dict.regions[cat.grid[i]] : undefined;
        this.pointRegion[i] = grid && this.regions.has(grid) ? grid : cat.dict.regions[cat.region[i]];
        // keep known states across a catalog reload; the next snapshot corrects them anyway
        const o = oldIdx.get(cat.ids[i]);
        if (o !== undefined) {
          this.st[i] = oldSt[o];
          this.since[i] = oldSince[o];
          this.flap[i] = oldFlap[o];
        }
      }
    }
    this.recount();
  }

  private ancestorCache = new Map<string, string[]>();
  private idHash: Uint32Array | null = null;

  /** Region ids from the region up to the root (cached: a storm walks them 10,000 times per batch). */
  ancestors(regionId: string): string[] {
    const cached = this.ancestorCache.get(regionId);
    if (cached) return cached;
    const out: string[] = [];
    let cur = this.regions.get(regionId);
    while (cur) {
      out.push(cur.id);
      cur = cur.parentId ? this.regions.get(cur.parentId) : undefined;
    }
    this.ancestorCache.set(regionId, out);
    return out;
  }

  subtreeIds(regionId: string): Set<string> {
    const out = new Set<string>();
    const stack = [this.regions.get(regionId)];
    while (stack.length) {
      const n = stack.pop();
      if (!n) continue;
      out.add(n.id);
      for (const c of n.children) stack.push(c);
    }
    return out;
  }

  private recount(): void {
    const counts = new Map<string, number[]>();
    const ancestorCache = new Map<string, string[]>();
    for (let i = 0; i < this.size; i++) {
      const r = this.pointRegion[i];
      let anc = ancestorCache.get(r);
      if (!anc) ancestorCache.set(r, (anc = this.ancestors(r)));
      for (const a of anc) {
        let c = counts.get(a);
        if (!c) counts.set(a, (c = emptyStateCounts()));
        c[this.st[i]]++;
      }
    }
    this.counts = counts;
    this.version.value++;
  }

  countsOf(regionId: string): number[] {
    return this.counts.get(regionId) ?? emptyStateCounts();
  }

  private connect(): void {
    this.connection.value = 'connecting';
    const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io(LIVE_NAMESPACE, { withCredentials: true, reconnectionDelayMax: 5000 });
    this.socket = socket;
    socket.on('connect', () => {
      this.subscribe(this.epoch !== null);
    });
    socket.on('disconnect', (reason) => {
      this.connection.value = 'offline';
      // socket.io does not reconnect by itself after a server-side disconnect (restart, drain)
      if (reason === 'io server disconnect') setTimeout(() => socket.connect(), 1000 + Math.random() * 2000);
    });
    socket.on('connect_error', (err) => {
      this.connection.value = 'offline';
      this.lastError.value = err.message;
      // refused by the server's auth middleware: socket.io will not retry, the session is gone
      if (!socket.active) notifyUnauthenticated();
    });
    socket.on('status:changed', (batch) => this.onBatch(batch));
    socket.on('monitoring:load', (load) => {
      this.load.value = load;
    });
    socket.on('status:resync', () => {
      void this.resync();
    });
    socket.on('incident:opened', (v) => this.emitIncident('incident:opened', v));
    socket.on('incident:updated', (v) => this.emitIncident('incident:updated', v));
    socket.on('incident:resolved', (v) => this.emitIncident('incident:resolved', v));
  }

  /**
   * Fresh catalog + snapshot: the registry changed shape (points added, moved, re-shared). At most one reload
   * starts per `RESYNC_GAP_MS` (a point the catalog cannot resolve must not turn into a reload loop), and a
   * request is never dropped: one that comes while a reload runs, or inside the gap, gets one more reload
   * after it. (The gap used to be re-checked by every waiting timer, each pushing it on: two requests a
   * second apart postponed each other forever, and a demo district's last 268 points never reached the board.)
   */
  resync(): Promise<void> {
    if (this.catalogReload) {
      this.resyncAgain = true;
      return this.catalogReload;
    }
    const wait = this.lastResyncAt + RESYNC_GAP_MS - Date.now();
    if (wait > 0) {
      this.resyncTimer ??= setTimeout(() => {
        this.resyncTimer = null;
        void this.resync();
      }, wait);
      return Promise.resolve();
    }
    this.lastResyncAt = Date.now();
    this.catalogReload = (async () => {
      this.connection.value = 'resyncing';
      await this.loadRegions();
      await this.loadCatalog();
      this.epoch = null;
      this.subscribe(false);
    })().finally(() => {
      this.catalogReload = null;
      if (this.resyncAgain) {
        this.resyncAgain = false;
        void this.resync();
      }
    });
    return this.catalogReload;
  }

  private subscribe(withReplay: boolean): void {
    const socket = this.socket;
    const regionId = this.rootId.value;
    if (!socket || !regionId) return;
    this.connection.value = 'resyncing';
    const req = withReplay && this.epoch ? { regionId, lastSeq: this.seq, epoch: this.epoch } : { regionId };
    socket.emit('subscribe', req, (res: Ack<SubscribeResult>) => {
      if (!res.ok) {
        this.connection.value = 'error';
        this.lastError.value = res.error.message;
        // transient refusals: try again rather than leave a stale board on the wall
        if (res.error.code === 'rate_limited' || res.error.code === 'unavailable' || res.error.code === 'internal') {
          setTimeout(() => this.subscribe(false), 5000);
        }
        return;
      }
      const data = res.data;
      this.epoch = data.epoch;
      this.seq = data.seq;
      if (data.kind === 'snapshot') {
        this.st.fill(0);
        this.since.fill(0);
        this.flap.fill(0);
        const missing = this.apply(data.points, false);
        this.recount();
        if (missing) void this.resync();
      } else {
        this.apply(data.changes, true);
      }
      this.connection.value = 'live';
      this.version.value++;
    });
  }

  private onBatch(batch: StatusBatch): void {
    if (batch.regionId !== this.rootId.value) return;
    if (batch.epoch !== this.epoch) {
      this.subscribe(false);
      return;
    }
    if (batch.seq <= this.seq) return;
    if (batch.seq !== this.seq + 1) {
      // a gap: ask for what was missed (or a snapshot) rather than showing a silently wrong board
      this.subscribe(true);
      return;
    }
    this.seq = batch.seq;
    this.batchesApplied++;
    this.apply(batch.changes, true);
    this.version.value++;
  }

  /** Applies point states; returns how many ids the catalog does not know. */
  private apply(ps: PointStates, incremental: boolean): number {
    let missing = 0;
    const fresh: NewOutage[] = [];
    const flapSet = new Set(ps.flap);
    for (let k = 0; k < ps.ids.length; k++) {
      const i = this.idx.get(ps.ids[k]);
      if (i === undefined) {
        missing++;
        continue;
      }
      const prev = this.st[i];
      const next: StateCode = ps.st[k];
      this.st[i] = next;
      this.since[i] = ps.since[k];
      this.flap[i] = flapSet.has(k) ? 1 : 0;
      if (incremental && prev !== next) {
        for (const a of this.ancestors(this.pointRegion[i])) {
          const c = this.counts.get(a) ?? emptyStateCounts();
          c[prev]--;
          c[next]++;
          this.counts.set(a, c);
        }
        if (next === 3) fresh.push({ index: i, at: Date.now() });
      }
    }
    if (fresh.length) {
      this.newOutages.value = [...fresh, ...this.newOutages.value].slice(0, 200);
      for (const l of this.outageListeners) l(fresh);
    }
    if (incremental && missing) void this.resync();
    return missing;
  }

  /** For tests and the wall: state counts and an order-independent checksum of (id, state). */
  summary(): { size: number; seq: number; epoch: string | null; counts: number[]; checksum: number } {
    const counts = emptyStateCounts();
    let checksum = 0;
    // tests and benchmarks poll this: hash the ids once per catalog, not on every call
    if (!this.idHash || this.idHash.length !== this.size) this.idHash = Uint32Array.from({ length: this.size }, (_, i) => hash(this.catalog?.ids[i] ?? ''));
    const h = this.idHash;
    for (let i = 0; i < this.size; i++) {
      counts[this.st[i]]++;
      checksum = (checksum + h[i] * (this.st[i] + 1)) >>> 0;
    }
    return { size: this.size, seq: this.seq, epoch: this.epoch, counts, checksum };
  }
}

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return h >>> 0;
}

export const board = new Board();

/** The region tree as a picker lists it: every region the caller sees, indented by depth, in tree order. */
function regionPicker(grids: boolean): Array<{ id: string; label: string }> {
  void board.regionsVersion.value;
  const out: Array<{ id: string; label: string }> = [];
  const walk = (nodes: RegionNode[]): void => {
    for (const n of nodes) {
      if (grids || n.tier !== 'grid') out.push({ id: n.id, label: `${'　'.repeat(n.depth)}${n.name}` });
      walk(n.children);
    }
  };
  walk(board.roots);
  return out;
}
export const regionOptions = computed(() => regionPicker(true));
/** The same without grids (a point's region, an incident filter: district, streets and communities). */
export const regionOptionsNoGrids = computed(() => regionPicker(false));

declare global {
  interface Window {
    __vigil?: { summary: () => ReturnType<Board['summary']>; stateOf: (id: string) => number | null; connection: () => ConnectionState };
  }
}

window.__vigil = {
  summary: () => board.summary(),
  stateOf: (id) => {
    const i = board.idx.get(id);
    return i === undefined ? null : board.st[i];
  },
  connection: () => board.connection.value,
};

/** State names by state code (the contract's list). */
export const stateNames = cameraStates;
/**
 * Colours by state. NOT_CONNECTED (未接入: registered without an address, never probed) has its own muted
 * violet, apart from UNKNOWN's grey, DISABLED's dark grey and DOWN's red: it is planned work, not a fault.
 */
const colorOf: Readonly<Record<CameraState, string>> = {
  UNKNOWN: '#8c8c8c',
  UP: '#2e9d4a',
  PENDING: '#e0a100',
  DOWN: '#d9363e',
  MAINTENANCE: '#4a7fd4',
  DISABLED: '#5c5c5c',
  NOT_CONNECTED: '#8f7fbf',
};
/** Colours by state code. */
export const stateColors: readonly string[] = cameraStates.map((s) => colorOf[s]);

/**
 * Instantaneous online rate of a subtree: online ÷ checked points that should be up. PENDING is still
 * online (not confirmed down); UNKNOWN (never checked), MAINTENANCE, DISABLED and NOT_CONNECTED (no
 * address to check) are left out.
 */
export function onlineRate(c: number[]): number | null {
  const scheduled = c[1] + c[2] + c[3];
  return scheduled ? (c[1] + c[2]) / scheduled : null;
}

export function healthColor(rate: number | null): string {
  if (rate === null) return '#8c8c8c';
  if (rate >= 0.98) return '#2e9d4a';
  if (rate >= 0.9) return '#e0a100';
  return '#d9363e';
}
