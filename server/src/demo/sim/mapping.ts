import fs from 'node:fs';
import { generateDemoDistrict } from '../district';
import { simAddress, type SimCameraSpec } from './simulator';

/** N cameras on 127.16.1.1 … spread over `regions` synthetic region ids ("r0", "r1", …). */
export function syntheticCameras(n: number, regions = 10): SimCameraSpec[] {
  return Array.from({ length: n }, (_, i) => ({ addr: simAddress(i), id: `sim-${i}`, regionId: `r${i % Math.max(1, regions)}` }));
}

interface ExportRow {
  id?: string;
  _id?: string;
  gbCode?: string;
  regionId?: string;
  host?: string;
  endpoint?: { host?: string };
}

function isLoopback(host: string): boolean {
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/**
 * Cameras from a registry export: a JSON array (or `{ items: [...] }`) of camera objects, or a CSV with a
 * header naming the host column (`endpoint.host`, `host`, `IPAddress`, `IP地址`). Points whose host is
 * already a loopback address keep it; any other host gets the next free 127.16.x.y address, and the
 * returned `remapped` list says which (point the registry at those to probe the simulator).
 */
export function camerasFromExport(file: string): { cameras: SimCameraSpec[]; remapped: Array<{ id: string; from: string; to: string }> } {
  const text = fs.readFileSync(file, 'utf8').replace(/^\uFEFF/, '');
  let rows: ExportRow[];
  if (file.endsWith('.json') || text.trimStart().startsWith('[') || text.trimStart().startsWith('{')) {
    const parsed = JSON.parse(text) as ExportRow[] | { items: ExportRow[] };
    rows = Array.isArray(parsed) ? parsed : parsed.items;
  } else {
    const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
    const header = (lines[0] ?? '').split(',').map((h) => h.trim().replace(/^"|"$/g, ''));
    const col = (...names: string[]): number => header.findIndex((h) => names.some((n) => h.toLowerCase() === n.toLowerCase()));
    const hostCol = col('endpoint.host', 'host', 'IPAddress', 'IP地址', 'ip');
    const idCol = col('id', '_id');
    const gbCol = col('gbCode', '国标编码', 'DeviceID');
    const regionCol = col('regionId');
    if (hostCol < 0) throw new Error(`${file}: no host column (endpoint.host / host / IPAddress / IP地址)`);
    rows = lines.slice(1).map((l) => {
      const cells = l.split(',').map((c) => c.trim().replace(/^"|"$/g, ''));
      return { host: cells[hostCol], id: idCol >= 0 ? cells[idCol] : undefined, gbCode: gbCol >= 0 ? cells[gbCol] : undefined, regionId: regionCol >= 0 ? cells[regionCol] : undefined };
    });
  }
  const used = new Set<string>();
  const cameras: SimCameraSpec[] = [];
  const remapped: Array<{ id: string; from: string; to: string }> = [];
  let next = 0;
  for (const r of rows) {
    const host = r.endpoint?.host ?? r.host ?? '';
    const id = r.id ?? r._id ?? r.gbCode ?? host;
    let addr = host;
    if (!isLoopback(host) || used.has(host)) {
      do addr = simAddress(next++);
      while (used.has(addr));
      remapped.push({ id, from: host, to: addr });
    }
    used.add(addr);
    cameras.push({ addr, id, regionId: r.regionId });
  }
  return { cameras, remapped };
}

/**
 * The demo district (server/src/demo/district.ts): 5,400 points on 127.20.x.y (whose registry entries name the
 * ports the simulator was configured with when the district was loaded: DEMO_SIM_RTSP_PORT / DEMO_SIM_HTTP_PORT).
 * Cameras are keyed by gbCode and know their region's ancestors, so `PUT /regions/<street id>/fault` is a
 * street-wide outage.
 */
export function demoDistrictCameras(seed?: number): SimCameraSpec[] {
  const d = generateDemoDistrict(seed);
  const parent = new Map(d.regions.map((r) => [r.id, r.parentId ?? null]));
  const ancestors = (id: string): string[] => {
    const out: string[] = [];
    for (let p = parent.get(id) ?? null; p; p = parent.get(p) ?? null) out.push(p);
    return out;
  };
  return d.points.map((p) => ({ addr: String(p.endpoint?.host), id: p.gbCode, regionId: p.regionId, ancestorRegionIds: ancestors(p.regionId) }));
}
