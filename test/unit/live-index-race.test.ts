import { expect } from 'chai';
import { ObjectId } from 'mongodb';
import { loadConfig } from '../../server/src/config';
import type { AppContext } from '../../server/src/context';
import { createLive, type ChangeSource } from '../../server/src/live';
import type { LiveSource, LoadedPoint } from '../../server/src/live/source';
import { loadedFromDoc } from '../../server/src/live/source';
import { createLogger } from '../../server/src/lib/logger';
import { RegionTree } from '../../server/src/regions/tree';
import type { Store } from '../../server/src/store/connection';
import { OpenApiRegistry } from '../../server/src/lib/openapi';

const regionId = new ObjectId().toHexString();
const tree = new RegionTree([{ id: regionId, parentId: null, name: '区', tier: 'district', code: null, households: null }]);

function doc(): Record<string, unknown> {
  return { _id: new ObjectId(), regionId: new ObjectId(regionId), enabled: true, name: 'p', status: { state: 'UP', since: new Date() } };
}

class Emitter implements ChangeSource {
  private listeners: Array<(e: unknown) => void> = [];
  onChange(l: (e: unknown) => void): () => void {
    this.listeners.push(l);
    return () => undefined;
  }
  emit(e: unknown): void {
    for (const l of this.listeners) l(e);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('live index: a full read racing registry changes', () => {
  it('when points are created while a full read of the registry is in flight, then the index ends up holding every point (the older read does not overwrite them)', async () => {
    const stops: Array<() => Promise<void> | void> = [];
    const ctx: AppContext = {
      config: loadConfig({ NODE_ENV: 'test', AUTH_MODE: 'open' }),
      logger: createLogger('silent'),
      store: {} as Store,
      openapi: new OpenApiRegistry(),
      onStop: (fn) => stops.push(fn),
      addReadinessCheck: () => undefined,
    };
    // the "store": what a full read returns is what was stored when the read began; the read can be held
    const stored: LoadedPoint[] = [];
    let hold: (() => void) | null = null;
    const source: LiveSource = {
      async points() {
        const snapshot = stored.slice();
        if (hold === null) await new Promise<void>((r) => (hold = r));
        return snapshot;
      },
      boundaries: () => Promise.resolve([]),
    };
    const cameras = new Emitter();
    const regions = Object.assign(new Emitter(), { current: () => tree });
    const live = createLive(ctx, { source, registry: { regions, cameras } });
    try {
      const create = (n: number): void => {
        for (let i = 0; i < n; i++) {
          const d = doc();
          const p = loadedFromDoc(d);
          if (!p) throw new Error('fixture');
          stored.push(p);
          cameras.emit({ kind: 'create', id: p.entry.id, camera: d });
        }
      };
      // the first read (start-up) completes on an empty registry
      const first = live.reload();
      await sleep(10);
      (hold as (() => void) | null)?.();
      await first;
      hold = null;
      create(100);
      // a full read starts (a reconcile, or transitions of points not indexed yet) while more points arrive
      const reread = live.reload();
      create(50);
      await sleep(400); // the registry changes' debounce passes while the read is still in flight
      (hold as (() => void) | null)?.();
      await reread;
      const hub = await live.ready();
      await sleep(400);
      expect((await live.ready()).allPoints().length).to.equal(150);
      expect(hub.allPoints().length).to.equal(150);
    } finally {
      for (const s of stops.reverse()) await s();
    }
  });
});
