/**
 * Synthetic demo district modelled on the domain (DOMAIN.md): 铁东区 (division 210302) with 10 streets,
 * 60 communities, 536 grids of 500–600 households and 5,400 points with valid GB/T 28181 codes.
 * Everything is SYNTHETIC: names are plausible, not a survey; every point carries the tag `synthetic`.
 * Deterministic for a given seed (same ids, codes and coordinates), so tests and the simulator agree.
 * `npx tsx scripts/demo-district.ts [seed] > demo.json` prints the generated data set as JSON.
 */
import type { AuditActor } from '../audit/schema';
import type { AuditService } from '../audit/service';
import { formatGbCode } from '../cameras/gbcode';
import { cameraInputSchema, stripEcho, type CameraInput, type CameraInputRaw } from '../cameras/schema';
import type { CameraService } from '../cameras/service';
import { DEMO_SIM_DEFAULT_PORTS } from '../config';
import { AppError } from '../lib/errors';
import type { RegionService } from '../regions/service';
import type { RegionInput } from '../contracts/regions';
import { prng } from '../lib/prng';

export const DEMO_DISTRICT_CODE = '210302';
export const DEMO_COUNTS = { streets: 10, communities: 60, grids: 536, points: 5400 } as const;
export const SYNTHETIC_NOTE = '合成演示数据 (synthetic demo data, not a survey)';

export type DemoRegion = RegionInput & { id: string };
/** A generated point: a create input plus a stable id and, for cameras, the gbCode of its NVR. */
export type DemoPoint = CameraInputRaw & { gbCode: string; regionId: string; upstreamGbCode: string | null };

/**
 * The ports every demo point names (RTSP; HTTP for ONVIF and /ISAPI): those the camera simulator serving the
 * district listens on (DEMO_SIM_RTSP_PORT / DEMO_SIM_HTTP_PORT), so its answers reach the points.
 */
export interface DemoPorts {
  rtspPort: number;
  httpPort: number;
}

export interface DemoDistrict {
  seed: number;
  regions: DemoRegion[];
  points: DemoPoint[];
}

const STREETS = ['站前街道', '解放街道', '山南街道', '园林街道', '新兴街道', '长甸街道', '和平街道', '胜利街道', '对炉街道', '湖南街道'];
const COMMUNITY_WORDS = [
  '胜利', '园丁', '光明', '幸福', '铁塔', '春风', '民生', '友谊', '建国', '新华', '青年', '朝阳', '和顺', '东山', '富强', '文化',
  '育才', '长青', '翠园', '钢城', '红旗', '丰盛', '德胜', '振兴', '明珠', '安乐', '福民', '兴隆', '宏伟', '祥和', '东风', '金地',
  '湖光', '南华', '北苑', '平安', '繁荣', '花园', '双山', '七岭', '西道', '市府', '太平', '永乐', '曙光', '鞍钢', '学府', '怡景',
  '银座', '景福', '凤鸣', '康乐', '惠民', '泰和', '馨园', '锦绣', '瑞丰', '嘉禾', '绿城', '荣华', '晨曦', '望台',
];
const ROADS = ['胜利路', '建国道', '解放路', '园林路', '五一路', '人民路', '民生路', '山南路', '和平路', '钢都路', '健身街', '站前路', '东山街', '湖南街', '铁东二道街', '对炉山路', '千山中路', '新华街', '光明路', '二一九路'];
const SCENES = ['路口', '小区出入口', '学校门口', '商铺', '公园', '菜市场', '停车场', '广场', '医院门口', '公交站', '楼道口', '背街小巷'];
const MAINTAINERS = [
  { org: '鞍山安讯科技有限公司', contact: '王工', phone: '0412-5550101' },
  { org: '中国联通鞍山分公司', contact: '李工', phone: '0412-5550202' },
  { org: '中国电信鞍山分公司', contact: '张工', phone: '0412-5550303' },
  { org: '鞍山宏远安防工程有限公司', contact: '刘工', phone: '0412-5550404' },
  { org: '辽宁天网智能运维有限公司', contact: '赵工', phone: '0412-5550505' },
];
const VENDORS: Array<{ name: string; share: number; cams: string[]; nvr: string; rtspPath: string }> = [
  { name: '海康威视', share: 0.55, cams: ['DS-2CD3T46WDV3-I3', 'DS-2CD2346FWD-IS', 'iDS-2DE4423IW-DE'], nvr: 'DS-7932N-R4', rtspPath: '/Streaming/Channels/101' },
  { name: '大华', share: 0.3, cams: ['DH-IPC-HFW2433M-I1', 'DH-SD49425XB-HNR'], nvr: 'DH-NVR5432-4KS2', rtspPath: '/cam/realmonitor?channel=1&subtype=0' },
  { name: '宇视', share: 0.09, cams: ['IPC2124LR3-PF40M-D', 'IPC-S314-IR'], nvr: 'NVR308-32E-B', rtspPath: '/media/video1' },
  { name: '天地伟业', share: 0.06, cams: ['TC-C34WS', 'TC-H332N'], nvr: 'TC-R3220', rtspPath: '/1/1' },
];
/** The demo box around Anshan Tiedong (WGS-84). */
const BOX = { lon0: 122.96, lon1: 123.05, lat0: 41.08, lat1: 41.14 };

/** Loopback address of the n-th point (n ≥ 0): 127.20.b.z with z in 1..254, so the simulator can serve each. */
export function demoHost(n: number): string {
  return `127.20.${Math.floor(n / 254)}.${(n % 254) + 1}`;
}

function objectIdFrom(rand: () => number): string {
  let s = '';
  for (let i = 0; i < 24; i++) s += Math.floor(rand() * 16).toString(16);
  return s;
}

/** Grid counts per community: 56 communities with 9 grids and 4 with 8 make exactly 536. */
function gridsPerCommunity(i: number): number {
  return i % 15 === 14 ? 8 : 9;
}

/** Ports default to the simulator's defaults; they change no id, code or address, only the endpoints' ports. */
export function generateDemoDistrict(seed = 20240501, ports: DemoPorts = DEMO_SIM_DEFAULT_PORTS): DemoDistrict {
  for (const p of [ports.rtspPort, ports.httpPort]) {
    if (!Number.isInteger(p) || p < 1 || p > 65535) throw new RangeError(`a demo point cannot name port ${p}: pass the port the simulator listens on`);
  }
  const rand = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const between = (a: number, b: number): number => a + rand() * (b - a);
  const regions: DemoRegion[] = [];
  const districtId = objectIdFrom(rand);
  regions.push({ id: districtId, name: '铁东区', tier: 'district', parentId: null, code: DEMO_DISTRICT_CODE, households: null, boundary: boxPolygon(BOX), note: SYNTHETIC_NOTE });

  interface Place {
    id: string;
    tier: 'district' | 'street' | 'community';
    streetNo: number;
    box: typeof BOX;
    gridIds: string[];
    label: string;
  }
  const places: Place[] = [{ id: districtId, tier: 'district', streetNo: 0, box: BOX, gridIds: [], label: '铁东区' }];
  /** Each grid's cell of its community (3 × 3): its boundary, and where its points stand. */
  const gridBoxes = new Map<string, typeof BOX>();
  let communityIndex = 0;
  const words = [...COMMUNITY_WORDS];
  STREETS.forEach((streetName, s) => {
    const col = s % 5;
    const row = Math.floor(s / 5);
    const w = (BOX.lon1 - BOX.lon0) / 5;
    const h = (BOX.lat1 - BOX.lat0) / 2;
    const sBox = { lon0: BOX.lon0 + col * w, lon1: BOX.lon0 + (col + 1) * w, lat0: BOX.lat0 + row * h, lat1: BOX.lat0 + (row + 1) * h };
    const streetId = objectIdFrom(rand);
    const streetCode = `${DEMO_DISTRICT_CODE}${String(s + 1).padStart(3, '0')}`;
    regions.push({ id: streetId, name: streetName, tier: 'street', parentId: districtId, code: streetCode, households: null, boundary: boxPolygon(sBox), note: SYNTHETIC_NOTE });
    places.push({ id: streetId, tier: 'street', streetNo: s + 1, box: sBox, gridIds: [], label: streetName });
    for (let c = 0; c < 6; c++) {
      const cw = (sBox.lon1 - sBox.lon0) / 3;
      const ch = (sBox.lat1 - sBox.lat0) / 2;
      const cBox = { lon0: sBox.lon0 + (c % 3) * cw, lon1: sBox.lon0 + ((c % 3) + 1) * cw, lat0: sBox.lat0 + Math.floor(c / 3) * ch, lat1: sBox.lat0 + (Math.floor(c / 3) + 1) * ch };
      const communityId = objectIdFrom(rand);
      const communityCode = `${streetCode}${String(c + 1).padStart(3, '0')}`;
      const name = `${words[communityIndex]}社区`;
      const grids = gridsPerCommunity(communityIndex);
      const gridRegions: DemoRegion[] = [];
      let households = 0;
      for (let g = 0; g < grids; g++) {
        const hh = 500 + Math.floor(rand() * 101);
        households += hh;
        const gw = (cBox.lon1 - cBox.lon0) / 3;
        const gh = (cBox.lat1 - cBox.lat0) / 3;
        const gBox = { lon0: cBox.lon0 + (g % 3) * gw, lon1: cBox.lon0 + ((g % 3) + 1) * gw, lat0: cBox.lat0 + Math.floor(g / 3) * gh, lat1: cBox.lat0 + (Math.floor(g / 3) + 1) * gh };
        const gridId = objectIdFrom(rand);
        gridBoxes.set(gridId, gBox);
        gridRegions.push({
          id: gridId,
          name: `第${g + 1}网格`,
          tier: 'grid',
          parentId: communityId,
          code: `${communityCode}${String(g + 1).padStart(3, '0')}`,
          households: hh,
          boundary: boxPolygon(gBox),
          note: SYNTHETIC_NOTE,
        });
      }
      regions.push({ id: communityId, name, tier: 'community', parentId: streetId, code: communityCode, households, boundary: boxPolygon(cBox), note: SYNTHETIC_NOTE });
      regions.push(...gridRegions);
      places.push({ id: communityId, tier: 'community', streetNo: s + 1, box: cBox, gridIds: gridRegions.map((g) => g.id), label: name });
      communityIndex += 1;
    }
  });

  // 5,400 points: per place one or more NVRs (type 118) and the cameras behind them
  const districtCams = 298;
  const streetCams = 60;
  const nvrCount = (p: Place): number => (p.tier === 'community' ? 2 : p.tier === 'street' ? 1 : 2);
  const communities = places.filter((p) => p.tier === 'community');
  const nvrTotal = places.reduce((n, p) => n + nvrCount(p), 0);
  const communityCamTotal = DEMO_COUNTS.points - nvrTotal - districtCams - streetCams * STREETS.length;
  // spread community cameras unevenly (weights), then fix rounding so the total is exact
  const weights = communities.map(() => 0.6 + rand() * 0.8);
  const wsum = weights.reduce((a, b) => a + b, 0);
  const perCommunity = weights.map((w) => Math.floor((w / wsum) * communityCamTotal));
  let rest = communityCamTotal - perCommunity.reduce((a, b) => a + b, 0);
  for (let i = 0; rest > 0; i = (i + 1) % perCommunity.length, rest--) perCommunity[i] += 1;

  const points: DemoPoint[] = [];
  let serial = 0;
  const streetMaintainer = STREETS.map((_, i) => MAINTAINERS[i % MAINTAINERS.length]);
  const vendorOf = (): (typeof VENDORS)[number] => {
    let r = rand();
    for (const v of VENDORS) {
      if (r < v.share) return v;
      r -= v.share;
    }
    return VENDORS[0];
  };
  const year = (): string => `${2016 + Math.floor(rand() * 9)}-${String(1 + Math.floor(rand() * 12)).padStart(2, '0')}-${String(1 + Math.floor(rand() * 28)).padStart(2, '0')}`;

  const addPoint = (p: Place, type: '118' | '131' | '132', upstream: string | null, vendor: (typeof VENDORS)[number], n: number, gridId: string | null): string => {
    const industry = p.tier === 'community' ? '01' : rand() < 0.1 ? '08' : '00';
    const center = `${DEMO_DISTRICT_CODE}${p.tier === 'district' ? '00' : String(p.streetNo).padStart(2, '0')}`;
    serial += 1;
    const gbCode = formatGbCode({ center, industry, type, network: '0', serial });
    const road = pick(ROADS);
    const scene = pick(SCENES);
    const maintainer = rand() < 0.85 ? streetMaintainer[Math.max(0, p.streetNo - 1)] : pick(MAINTAINERS);
    const isNvr = type === '118';
    const sharing = p.tier === 'community' ? (rand() < 0.5 ? 'own' : rand() < 0.7 ? 'up' : 'all') : rand() < 0.6 ? 'up' : 'all';
    const kindRoll = rand();
    const box = (gridId !== null ? gridBoxes.get(gridId) : undefined) ?? p.box;
    points.push({
      gbCode,
      name: isNvr ? `${p.label}${road}NVR-${n}` : `${p.label}${road}${scene}-${String(n).padStart(2, '0')}`,
      regionId: p.id,
      gridId,
      address: `辽宁省鞍山市铁东区${road}${1 + Math.floor(rand() * 300)}号`,
      location: { lon: round6(between(box.lon0, box.lon1)), lat: round6(between(box.lat0, box.lat1)) },
      endpoint: { host: demoHost(points.length), rtspPort: ports.rtspPort, rtspPath: isNvr ? '' : vendor.rtspPath, httpPort: ports.httpPort, onvifPort: ports.httpPort },
      probe: { kind: isNvr ? 'tcp' : kindRoll < 0.7 ? 'rtsp' : kindRoll < 0.9 ? 'tcp' : 'onvif' },
      vendor: vendor.name,
      model: isNvr ? vendor.nvr : pick(vendor.cams),
      ownerUnit: p.tier === 'district' ? '鞍山市公安局铁东分局' : p.tier === 'street' ? `${p.label}办事处` : `${STREETS[p.streetNo - 1]}${p.label}`,
      maintainer,
      sharing,
      upstreamId: null,
      upstreamGbCode: upstream,
      tags: ['synthetic', ...(isNvr ? ['nvr'] : [scene])],
      enabled: rand() > 0.02,
      installedAt: year(),
      note: SYNTHETIC_NOTE,
    });
    return gbCode;
  };

  for (const p of places) {
    const camCount = p.tier === 'district' ? districtCams : p.tier === 'street' ? streetCams : perCommunity[communities.indexOf(p)];
    const nvrs: Array<{ code: string; vendor: (typeof VENDORS)[number] }> = [];
    for (let i = 0; i < nvrCount(p); i++) {
      const vendor = vendorOf();
      nvrs.push({ code: addPoint(p, '118', null, vendor, i + 1, null), vendor });
    }
    for (let i = 0; i < camCount; i++) {
      const nvr = nvrs[i % nvrs.length];
      // cameras mostly match their recorder's brand, as installers buy them together
      const vendor = rand() < 0.8 ? nvr.vendor : vendorOf();
      const gridId = p.tier === 'community' ? p.gridIds[Math.floor(rand() * p.gridIds.length)] : null;
      addPoint(p, rand() < 0.9 ? '132' : '131', nvr.code, vendor, i + 1, gridId);
    }
  }
  return { seed, regions, points };
}

function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

function boxPolygon(b: typeof BOX): DemoRegion['boundary'] {
  return {
    type: 'Polygon',
    coordinates: [[[b.lon0, b.lat0], [b.lon1, b.lat0], [b.lon1, b.lat1], [b.lon0, b.lat1], [b.lon0, b.lat0]].map(([x, y]) => [round6(x), round6(y)] as [number, number])],
  };
}

export interface DemoServices {
  regions: RegionService;
  cameras: CameraService;
  audit: AuditService;
}

const systemActor: AuditActor = { userId: '000000000000000000000000', username: 'system' };

export interface DemoLoadOptions {
  actor?: AuditActor;
  seed?: number;
  /**
   * The ports the points name, or how to get them once the registry is known to be empty (the in-process
   * simulator on port 0 only knows its ports once it listens). Default: the simulator's default ports.
   */
  ports?: DemoPorts | (() => Promise<DemoPorts>);
}

export interface DemoLoadResult {
  regions: number;
  points: number;
  tookMs: number;
}

/**
 * Loads the demo district into an EMPTY registry (409 otherwise, so it can never mix with real data).
 * NVRs go first so the cameras can reference them by id.
 */
export async function loadDemoDistrict(services: DemoServices, opts: DemoLoadOptions = {}): Promise<DemoLoadResult> {
  if (loading.has(services.regions)) throw new AppError('conflict', 'the demo district is being loaded already');
  const run = loadDemo(services, opts);
  loading.set(services.regions, run);
  try {
    return await run;
  } finally {
    loading.delete(services.regions);
  }
}

/** Loads in progress, per app (keyed by its region service): a double click must not load twice. */
const loading = new WeakMap<RegionService, Promise<unknown>>();

async function loadDemo(services: DemoServices, opts: DemoLoadOptions): Promise<DemoLoadResult> {
  const started = Date.now();
  const actor = opts.actor ?? systemActor;
  if (services.regions.size() > 0 || !(await services.cameras.isEmpty())) {
    throw new AppError('conflict', 'the registry is not empty: the demo district is only loaded into an empty registry');
  }
  const ports = typeof opts.ports === 'function' ? await opts.ports() : opts.ports;
  const demo = generateDemoDistrict(opts.seed, ports);
  try {
    return await writeDemo(services, demo, actor, started);
  } catch (err) {
    // a write failed (a full disk: 507): take back what was written, so the registry is empty again
    // and the load can simply be repeated, never a half-loaded district
    // (if the rollback fails too, the first error is the one to report)
    const regionIds = demo.regions.map((r) => r.id);
    await services.cameras
      .removeInRegionsTrusted(regionIds)
      .then(() => services.regions.removeManyTrusted(regionIds))
      .catch(() => undefined);
    throw err;
  }
}

async function writeDemo(services: DemoServices, demo: DemoDistrict, actor: AuditActor, started: number): Promise<DemoLoadResult> {
  await services.regions.insertManyTrusted(demo.regions);
  const toInput = (p: DemoPoint, upstreamId: string | null): CameraInput => {
    const { upstreamGbCode: _u, ...raw } = p;
    return stripEcho(cameraInputSchema.parse({ ...raw, upstreamId }));
  };
  const ids = new Map<string, string>();
  const nvrs = demo.points.filter((p) => p.upstreamGbCode === null).map((p) => toInput(p, null));
  const r1 = await services.cameras.upsertManyValidated(nvrs, actor, { source: 'demo', audit: false });
  for (const o of r1.outcomes) ids.set(o.gbCode, o.id);
  const cams = demo.points.filter((p) => p.upstreamGbCode !== null);
  let loaded = r1.created;
  for (let i = 0; i < cams.length; i += 1000) {
    const batch = cams.slice(i, i + 1000).map((p) => toInput(p, ids.get(p.upstreamGbCode as string) ?? null));
    loaded += (await services.cameras.upsertManyValidated(batch, actor, { source: 'demo', audit: false })).created;
  }
  const result = { regions: demo.regions.length, points: loaded, tookMs: Date.now() - started };
  // one entry for the whole load: 5,400 per-point entries would bury real changes
  await services.audit.record({ actor, action: 'demo.load', entity: 'system', entityId: null, meta: { ...result, seed: demo.seed }, regionIds: [demo.regions[0].id] });
  return result;
}

/** `npm start -- --demo`: loads the demo district only into an empty registry; null when something is there. */
export async function loadDemoIfEmpty(services: DemoServices, ports?: DemoPorts): Promise<DemoLoadResult | null> {
  if (services.regions.size() > 0 || !(await services.cameras.isEmpty())) return null;
  return loadDemoDistrict(services, { ports });
}
