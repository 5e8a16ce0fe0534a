import { ObjectId, type Db } from 'mongodb';
import type { ProbeKind } from '../../server/src/probes/types';

/** Shared fixtures of the polling tests (not a test file itself). */

export const DISTRICT = new ObjectId().toHexString();

export interface PointSpec {
  id?: string;
  host: string;
  kind: ProbeKind;
  rtspPort: number;
  httpPort: number;
  timeoutMs?: number;
  retries?: number;
  enabled?: boolean;
}

let serial = 1;

/** A camera document as the registry stores it (enough for CameraService.get and the engine). */
export function cameraDoc(p: PointSpec): Record<string, unknown> {
  const n = serial++;
  const now = new Date();
  return {
    _id: new ObjectId(p.id),
    gbCode: `21030200001320${String(n).padStart(6, '0')}`,
    name: `测试点位${n}`,
    regionId: new ObjectId(DISTRICT),
    gridId: null,
    address: '',
    location: null,
    endpoint: { host: p.host, rtspPort: p.rtspPort, rtspPath: '/Streaming/Channels/101', httpPort: p.httpPort, onvifPort: p.httpPort },
    probe: { kind: p.kind, intervalSec: 60, timeoutMs: p.timeoutMs ?? 300, retries: p.retries ?? 3 },
    vendor: '',
    model: '',
    ownerUnit: '',
    maintainer: { org: '', contact: '', phone: '' },
    sharing: 'all',
    upstreamId: null,
    tags: [],
    enabled: p.enabled ?? true,
    installedAt: null,
    note: '',
    gb: { center: '21030200', industry: '00', industryName: '', type: '132', typeName: '', network: '0', networkName: '', serial: '' },
    searchText: '',
    searchTokens: [],
    version: 1,
    createdAt: now,
    updatedAt: now,
  };
}

export async function seedDistrict(db: Db): Promise<void> {
  await db.collection('regions').insertOne({ _id: new ObjectId(DISTRICT), name: '铁东区', tier: 'district', parentId: null, code: '210302', households: null, boundary: null });
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | null | false> | T | undefined | null | false, timeoutMs = 10_000, everyMs = 50): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Checks that a point's stored transitions form one chain: seq 1..n, each `from` = previous `to`. */
export interface ChainItem {
  seq: number;
  from: string;
  to: string;
  flapping: boolean;
}

export function assertChain(ts: unknown): string | null {
  if (!Array.isArray(ts)) return 'not an array';
  const items = ts as ChainItem[];
  const sorted = [...items].sort((a, b) => a.seq - b.seq);
  for (let i = 0; i < sorted.length; i++) {
    if (sorted[i].seq !== i + 1) return `seq ${sorted[i].seq} at position ${i + 1}`;
    if (i > 0 && sorted[i].from !== sorted[i - 1].to) return `seq ${sorted[i].seq}: from ${sorted[i].from} after ${sorted[i - 1].to}`;
  }
  return null;
}
