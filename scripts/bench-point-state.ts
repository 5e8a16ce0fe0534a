/**
 * What the registry's in-memory consumers keep per point, and what their change path costs: N new points go
 * through each owner's change path the way a registry import delivers them (one `CameraChange` per point,
 * fresh strings each), and the heap is read after a full GC.
 *
 *   node --expose-gc --import tsx scripts/bench-point-state.ts [--points 200000]
 *
 * Owners: live push's state index (LiveHub) and catalog attributes, alerting's point map (AlertPoints), the
 * reports point index (with its change log kept, as when month sums are in use). Each owner's figure excludes
 * the strings every owner shares (id, name, address, code: held by the change objects while it is measured);
 * the last line adds what those strings cost once the changes are dropped.
 */
import { performance } from 'node:perf_hooks';
import type { CameraChange } from '../server/src/cameras/events';
import type { Camera } from '../server/src/contracts/cameras';
import { LiveHub } from '../server/src/live/hub';
import * as source from '../server/src/live/source';
import { AlertPoints } from '../server/src/alerts/incidents/points';
import { PointIndex } from '../server/src/reports/point-index';
import { RegionTree, type RegionNode } from '../server/src/regions/tree';
import { calibrate, calibrationLine } from './bench-calibration';
import { heapUsedAfterGc } from './heap-used';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const N = arg('points', 200_000);
const heap = heapUsedAfterGc;
// a flat string of its own, as a store read or a parsed request gives (a template literal makes a cons string,
// flattened, at a cost charged to whichever owner first hashes it)
const fresh = (s: string): string => Buffer.from(s).toString();
const hex = (n: number, w: number): string => n.toString(16).padStart(w, '0');

const regions: RegionNode[] = [{ id: 'd0000000000000000000000', name: '区', tier: 'district', parentId: null, code: '210302', households: null }];
const communities: string[] = [];
for (let s = 0; s < 10; s++) {
  const street = `5${hex(s, 23)}`;
  regions.push({ id: street, name: `街道${s}`, tier: 'street', parentId: regions[0].id, code: `210302${s}`, households: null });
  for (let c = 0; c < 20; c++) {
    const id = `6${hex(s * 100 + c, 23)}`;
    regions.push({ id, name: `社区${s}-${c}`, tier: 'community', parentId: street, code: null, households: null });
    communities.push(id);
  }
}
const tree = new RegionTree(regions);
const orgs = ['鞍山安讯科技有限公司', '中国联通鞍山分公司', '中国电信鞍山分公司', '鞍山宏远安防工程有限公司'];
const vendors = ['海康威视', '大华', '宇视', '天地伟业'];
const sharings = ['own', 'up', 'all'] as const;

function change(i: number): CameraChange {
  const regionId = fresh(communities[i % communities.length]);
  const camera = {
    id: fresh(`7${hex(i, 23)}`),
    gbCode: fresh(`2103020103132${String(i).padStart(7, '0')}`),
    name: fresh(`社区${i % 200}路口-${i}`),
    regionId,
    gridId: null,
    address: fresh(`辽宁省鞍山市铁东区人民路${i % 300}号`),
    location: { lon: 122.96 + (i % 9000) / 100000, lat: 41.08 + (i % 6000) / 100000 },
    endpoint: { host: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255 || 1}`, rtspPort: 554, rtspPath: '', httpPort: null, onvifPort: null },
    vendor: fresh(vendors[i % 4]),
    maintainer: { org: fresh(orgs[i % 4]), contact: '王工', phone: '0412-5550101' },
    sharing: sharings[i % 3],
    upstreamId: i % 5 === 0 ? null : fresh(`8${hex(i % 2000, 23)}`),
    tags: [fresh('bench')],
    enabled: false,
    status: { state: 'DISABLED', confirmed: 'DISABLED', since: '2026-12-01T00:00:00.000Z', flapping: false },
  } as unknown as Camera;
  return { kind: 'upsert', id: camera.id, regionId, camera };
}

interface AttrStore {
  set(id: string, a: source.PointAttrs): void;
}
// main kept the attributes in a Map; this branch in a column table (the script runs against both)
const AttrTable = (source as unknown as { PointAttrTable?: new () => AttrStore }).PointAttrTable;
const newAttrs = (): AttrStore => (AttrTable ? new AttrTable() : new Map<string, source.PointAttrs>());

async function main(): Promise<void> {
  console.log(calibrationLine(await calibrate()));
  const start = heap();
  const changes: CameraChange[] = [];
  for (let i = 0; i < N; i++) changes.push(change(i));
  const held: unknown[] = [];
  const owners: Array<[string, (cs: CameraChange[]) => unknown]> = [
    [
      'live: LiveHub state index + catalog attrs',
      (cs) => {
        const hub = new LiveHub(tree, [], { batchMs: 250, ringBatches: 10, ringPoints: 1000, roomIdleMs: 1000, emitBatch: () => undefined, emitResync: () => undefined });
        hub.join(regions[0].id, { scopeRegionId: null, maintainerOrg: null, role: 'admin' } as never);
        const attrs = newAttrs();
        // index.ts applies the burst every 200 ms: loadedFromDoc per change, then one applyPointChanges
        for (let i = 0; i < cs.length; i += 1000) {
          const entries = [];
          for (const c of cs.slice(i, i + 1000)) {
            const p = source.loadedFromDoc(c.camera as unknown as Record<string, unknown>);
            if (!p) continue;
            entries.push(p.entry);
            attrs.set(p.entry.id, p.attrs);
          }
          hub.applyPointChanges(entries, [], new Set());
        }
        hub.close();
        return [hub, attrs];
      },
    ],
    [
      'alerts: AlertPoints',
      (cs) => {
        const a = new AlertPoints();
        for (const c of cs) a.apply(c);
        return a;
      },
    ],
    [
      'reports: PointIndex (+ change log)',
      (cs) => {
        const idx = new PointIndex(['01', '02', '03']);
        idx.keepChangesSince(0);
        for (const c of cs) idx.apply(c);
        return idx;
      },
    ],
  ];
  let total = 0;
  let cpuTotal = 0;
  for (const [name, run] of owners) {
    const h0 = heap();
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    held.push(run(changes));
    const cpu = process.cpuUsage(c0);
    const ms = performance.now() - t0;
    const bytes = heap() - h0;
    total += bytes;
    const us = (cpu.user + cpu.system) / N;
    cpuTotal += us;
    console.log(`${name.padEnd(44)} ${(bytes / N).toFixed(0).padStart(5)} B/pt   change path ${us.toFixed(2)} CPU-µs/pt (${ms.toFixed(0)} ms wall)`);
  }
  const withChanges = heap();
  changes.length = 0;
  const after = heap();
  console.log(`${'all four owners, shared strings excluded'.padEnd(44)} ${(total / N).toFixed(0).padStart(5)} B/pt   change path ${cpuTotal.toFixed(2)} CPU-µs/pt`);
  console.log(`${'all four owners, strings included'.padEnd(44)} ${((after - start) / N).toFixed(0).padStart(5)} B/pt   (heap with the changes held ${(withChanges / 1e6).toFixed(0)} MB, N=${N})`);
  void held;
}

void main();
