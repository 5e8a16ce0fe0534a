import type { Camera } from '../../contracts/cameras';
import type { Sharing } from '../../contracts/vocabulary';
import { cameraAsInput } from '../documents';
import { cameraInputSchema, stripEcho, validateCameraInput, type CameraInput, type CameraInputRaw, type ProbeDefaults } from '../schema';
import { fieldLabels, type SourceRow, type TransferField } from './fields';
import type { RegionDirectory } from './regions';

/** One problem of one row. `field` is the column key; `column` the header text the file used. */
export interface RowIssue {
  line: number;
  field: TransferField | 'row';
  column: string;
  reason: string;
}

export type MappedRow =
  | {
      ok: true;
      line: number;
      input: CameraInput;
      /** GB code of the upstream device; undefined = keep the stored upstream (column absent). */
      upstreamGbCode: string | null | undefined;
    }
  | { ok: false; line: number; gbCode?: string; issues: RowIssue[] };

export interface MapContext {
  regions: RegionDirectory;
  /** The caller's scope (region ids he may write to); null = global. */
  scope: Set<string> | null;
  probeDefaults: ProbeDefaults;
  headerText?: Partial<Record<TransferField, string>>;
  /** Where a new row without any region column value goes: the caller's scope root, or the only district. */
  defaultRegionId?: string;
  /** Columns of the file; undefined = each row's own fields (catalog XML). */
  columns?: ReadonlySet<TransferField>;
}

const sharingAliases: Readonly<Record<string, Sharing>> = {
  own: 'own', 本级: 'own', 仅本级: 'own', 不共享: 'own', 自有: 'own', 私有: 'own',
  up: 'up', 上级: 'up', 向上: 'up', 向上共享: 'up', 上级可见: 'up', 共享上级: 'up',
  all: 'all', 全部: 'all', 共享: 'all', 全部共享: 'all', 资源池: 'all', 公开: 'all',
};
const trueWords = new Set(['true', '1', 'yes', 'y', '是', '启用', '开启', '开', 'on', '正常', '在用']);
const falseWords = new Set(['false', '0', 'no', 'n', '否', '停用', '禁用', '关闭', '关', 'off', '未启用']);
const probeKindAliases: Readonly<Record<string, string>> = { tcp: 'tcp', rtsp: 'rtsp', onvif: 'onvif', http: 'http', 端口: 'tcp', 端口检测: 'tcp' };

function label(field: TransferField | 'row', ctx: MapContext): string {
  if (field === 'row') return '行';
  return ctx.headerText?.[field] ?? fieldLabels[field].zh;
}

const ws = /\s+/g;

/** Full-width digits and signs (common in Chinese input) become ASCII before numbers are read. */
function ascii(v: string): string {
  return v.normalize('NFKC').replace(ws, '');
}

/**
 * A code as Excel leaves it: `'2103…`, `="2103…"`, or — after a CSV round trip through a General column —
 * `2.10302E+19`, which has lost its digits for good.
 */
export function codeValue(raw: string): { value?: string; reason?: string } {
  let v = ascii(raw);
  const formula = /^="(.*)"$/.exec(v);
  if (formula) v = formula[1];
  if (v.startsWith("'")) v = v.slice(1);
  if (/^\d+(\.\d+)?e\+?\d+$/i.test(v)) {
    return { reason: `was saved by Excel in scientific notation (${raw}) and lost digits: format the column as text (文本) and re-enter the codes` };
  }
  if (!/^\d{20}$/.test(v)) return { value: v, reason: `must be 20 digits (GB/T 28181 code), got "${raw}"` };
  return { value: v };
}

function parseNumber(raw: string): number | undefined {
  const v = ascii(raw);
  if (!/^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(v)) return undefined;
  return Number(v);
}

function parseInteger(raw: string): number | undefined {
  const n = parseNumber(raw);
  return n !== undefined && Number.isInteger(n) ? n : undefined;
}

/** YYYY-MM-DD, YYYY/M/D, YYYY.M.D, YYYY年M月D日, or an ISO date-time; date-times without an offset are China time. */
function parseDate(raw: string): string | undefined {
  const v = raw.normalize('NFKC').trim();
  const d = /^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$/.exec(v);
  if (d) {
    const [y, m, day] = [Number(d[1]), Number(d[2]), Number(d[3])];
    const dt = new Date(Date.UTC(y, m - 1, day));
    if (dt.getUTCFullYear() !== y || dt.getUTCMonth() !== m - 1 || dt.getUTCDate() !== day) return undefined;
    return `${d[1]}-${String(m).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
  }
  const t = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(:\d{2}(\.\d+)?)?)(Z|[+-]\d{2}:?\d{2})?$/.exec(v);
  if (t) {
    const iso = `${t[1]}T${t[2].length === 5 ? `${t[2]}:00` : t[2]}${t[5] ?? '+08:00'}`;
    return Number.isNaN(Date.parse(iso)) ? undefined : iso;
  }
  return undefined;
}

/** Where a schema issue path points in the flat column model. */
function fieldOfPath(path: PropertyKey[], regionField: TransferField): TransferField | 'row' {
  const [head, sub] = path.map(String);
  switch (head) {
    case 'location':
      return sub === 'lat' ? 'lat' : 'lon';
    case 'endpoint':
      return sub === 'rtspPort' || sub === 'rtspPath' || sub === 'httpPort' || sub === 'onvifPort' ? sub : 'host';
    case 'probe':
      return sub === 'intervalSec' ? 'probeIntervalSec' : sub === 'timeoutMs' ? 'probeTimeoutMs' : sub === 'retries' ? 'probeRetries' : 'probeKind';
    case 'maintainer':
      return sub === 'contact' ? 'maintainerContact' : sub === 'phone' ? 'maintainerPhone' : 'maintainerOrg';
    case 'regionId':
      return regionField;
    case 'gridId':
      return 'grid';
    case 'upstreamId':
      return 'upstream';
    case 'gbCode':
    case 'name':
    case 'address':
    case 'vendor':
    case 'model':
    case 'ownerUnit':
    case 'sharing':
    case 'tags':
    case 'enabled':
    case 'installedAt':
    case 'note':
      return head;
    default:
      return 'row';
  }
}

/**
 * Maps one source row onto a camera input: reads and checks each cell, resolves the region columns,
 * keeps stored values for columns the file lacks, then runs the registry's own schema and cross-field
 * validation (the same rules as POST /cameras) and the caller's scope. Every problem is collected.
 */
export function mapRow(row: SourceRow, existing: Camera | undefined, ctx: MapContext): MappedRow {
  const issues: RowIssue[] = [];
  const add = (field: TransferField | 'row', reason: string): void => {
    issues.push({ line: row.line, field, column: label(field, ctx), reason: `${label(field, ctx)} ${reason}` });
  };
  for (const p of row.cellProblems ?? []) add(p.field, p.reason);

  const v = row.values;
  const has = (f: TransferField): boolean => (ctx.columns ? ctx.columns.has(f) : row.present ? row.present.includes(f) : v[f] !== undefined);
  const base: CameraInputRaw | undefined = existing ? cameraAsInput(existing) : undefined;

  const codeRaw = v.gbCode;
  let gbCode: string | undefined;
  if (codeRaw === undefined) add('gbCode', 'is required');
  else {
    const c = codeValue(codeRaw);
    if (c.reason) add('gbCode', c.reason);
    else gbCode = c.value;
  }

  const raw: Record<string, unknown> = base ? { ...base } : {};
  if (gbCode) raw.gbCode = gbCode;
  const text = (field: TransferField, key: string): void => {
    if (has(field)) raw[key] = v[field] ?? '';
  };
  if (has('name')) raw.name = v.name ?? '';
  text('address', 'address');
  text('vendor', 'vendor');
  text('model', 'model');
  text('ownerUnit', 'ownerUnit');
  text('note', 'note');

  // region and grid
  const regionFields = ['regionId', 'district', 'street', 'community', 'regionCode'] as const;
  const regionGiven = regionFields.some((f) => v[f] !== undefined);
  const regionField: TransferField = v.community !== undefined ? 'community' : v.street !== undefined ? 'street' : v.district !== undefined ? 'district' : v.regionId !== undefined ? 'regionId' : v.regionCode !== undefined ? 'regionCode' : has('community') ? 'community' : 'street';
  if (regionGiven || v.grid !== undefined) {
    const r = ctx.regions.resolve(
      { regionId: v.regionId, regionCode: v.regionCode, district: v.district, street: v.street, community: v.community, grid: v.grid },
      ctx.scope ?? undefined,
    );
    if (r && !r.ok) add(r.field, r.reason);
    else if (r && r.ok) {
      const gridId = r.gridId;
      if (regionGiven || !base) raw.regionId = r.regionId;
      // a grid alone moves the point only when the grid lies outside its stored region
      else if (gridId && !ctx.regions.ancestorsOrSelf(gridId).includes(base.regionId)) raw.regionId = r.regionId;
      if (gridId !== undefined) raw.gridId = gridId;
      else if (has('grid') || (base && raw.regionId !== base.regionId)) raw.gridId = null;
    }
  } else if (!base) {
    // no region at all: the caller's own region, or the only district of the tree
    const fallback = ctx.defaultRegionId;
    if (fallback) raw.regionId = fallback;
    else add(regionField, 'is required: give 所属街道/所属社区 (names), 区划编码, or 网格');
  } else if (has('grid')) {
    raw.gridId = null;
  }

  // location
  if (has('lon') || has('lat')) {
    if (v.lon === undefined && v.lat === undefined) raw.location = null;
    else if (v.lon === undefined) add('lon', 'is required when 纬度 is given');
    else if (v.lat === undefined) add('lat', 'is required when 经度 is given');
    else {
      const lon = parseNumber(v.lon);
      const lat = parseNumber(v.lat);
      if (lon === undefined) add('lon', `must be a number, got "${v.lon}"`);
      if (lat === undefined) add('lat', `must be a number, got "${v.lat}"`);
      if (lon !== undefined && lat !== undefined) raw.location = { lon, lat };
    }
  }

  // endpoint
  const endpoint: Record<string, unknown> = { ...((base?.endpoint as Record<string, unknown> | undefined) ?? {}) };
  // an empty cell (or no column at all for a new point) registers a point not yet connected (未接入)
  if (has('host')) endpoint.host = v.host ?? null;
  const portField = (field: 'rtspPort' | 'httpPort' | 'onvifPort'): void => {
    if (!has(field)) return;
    const value = v[field];
    if (value === undefined) {
      delete endpoint[field];
      return;
    }
    const n = parseInteger(value);
    if (n === undefined) add(field, `must be a whole number 1-65535, got "${value}"`);
    else endpoint[field] = n;
  };
  portField('rtspPort');
  portField('httpPort');
  portField('onvifPort');
  if (has('rtspPath')) {
    if (v.rtspPath === undefined) delete endpoint.rtspPath;
    else endpoint.rtspPath = v.rtspPath;
  }
  raw.endpoint = endpoint;

  // probe
  const probe: Record<string, unknown> = { ...((base?.probe as Record<string, unknown> | undefined) ?? {}) };
  if (has('probeKind')) {
    if (v.probeKind === undefined) delete probe.kind;
    else {
      const k = probeKindAliases[ascii(v.probeKind).toLowerCase()] ?? probeKindAliases[v.probeKind.trim()];
      if (!k) add('probeKind', `must be one of tcp, rtsp, onvif, http, got "${v.probeKind}"`);
      else probe.kind = k;
    }
  }
  const probeInt = (field: 'probeIntervalSec' | 'probeTimeoutMs' | 'probeRetries', key: string): void => {
    if (!has(field)) return;
    const value = v[field];
    if (value === undefined) {
      delete probe[key];
      return;
    }
    const n = parseInteger(value);
    if (n === undefined) add(field, `must be a whole number, got "${value}"`);
    else probe[key] = n;
  };
  probeInt('probeIntervalSec', 'intervalSec');
  probeInt('probeTimeoutMs', 'timeoutMs');
  probeInt('probeRetries', 'retries');
  if (Object.keys(probe).length) raw.probe = probe;
  else delete raw.probe;

  // maintainer
  const maintainer: Record<string, unknown> = { ...((base?.maintainer as Record<string, unknown> | undefined) ?? {}) };
  if (has('maintainerOrg')) maintainer.org = v.maintainerOrg ?? '';
  if (has('maintainerContact')) maintainer.contact = v.maintainerContact ?? '';
  if (has('maintainerPhone')) maintainer.phone = v.maintainerPhone ?? '';
  if (Object.keys(maintainer).length) raw.maintainer = maintainer;

  if (has('sharing')) {
    if (v.sharing === undefined) raw.sharing = 'own';
    else {
      const s = sharingAliases[ascii(v.sharing).toLowerCase()];
      if (!s) add('sharing', `must be own (本级), up (向上) or all (全部), got "${v.sharing}"`);
      else raw.sharing = s;
    }
  }
  if (has('enabled')) {
    if (v.enabled === undefined) raw.enabled = true;
    else {
      const e = ascii(v.enabled).toLowerCase();
      if (trueWords.has(e)) raw.enabled = true;
      else if (falseWords.has(e)) raw.enabled = false;
      else add('enabled', `must be 是/否 (true/false), got "${v.enabled}"`);
    }
  }
  if (has('tags')) {
    raw.tags = (v.tags ?? '')
      .split(/[;；,，、|]/)
      .map((t) => t.trim())
      .filter(Boolean);
  }
  if (has('installedAt')) {
    if (v.installedAt === undefined) raw.installedAt = null;
    else {
      const d = parseDate(v.installedAt);
      if (!d) add('installedAt', `must be a date such as 2024-05-01, got "${v.installedAt}"`);
      else raw.installedAt = d;
    }
  }

  let upstreamGbCode: string | null | undefined;
  if (has('upstream')) {
    if (v.upstream === undefined) upstreamGbCode = null;
    else {
      const c = codeValue(v.upstream);
      if (c.reason) add('upstream', c.reason);
      else if (c.value === gbCode) add('upstream', 'cannot be the point itself');
      else upstreamGbCode = c.value;
    }
  }
  // the upstream id is resolved by the import service; a placeholder keeps the schema quiet meanwhile
  delete raw.upstreamId;

  if (issues.length) return { ok: false, line: row.line, gbCode, issues };

  const parsed = cameraInputSchema.safeParse(raw);
  if (!parsed.success) {
    for (const i of parsed.error.issues) add(fieldOfPath(i.path, regionField), i.message);
    return { ok: false, line: row.line, gbCode, issues };
  }
  const input = stripEcho(parsed.data);
  if (!has('upstream') && base) input.upstreamId = base.upstreamId ?? null;
  for (const i of validateCameraInput(input, ctx.regions, undefined, ctx.probeDefaults)) add(fieldOfPath(i.field.split('.'), regionField), i.message);
  if (!issues.length && ctx.scope && !ctx.scope.has(input.regionId)) {
    // the region is not named: a caller may not learn the names of regions outside his scope from an import
    add(regionField, 'lies outside your scope');
  }
  if (issues.length) return { ok: false, line: row.line, gbCode, issues };
  return { ok: true, line: row.line, input, upstreamGbCode };
}
