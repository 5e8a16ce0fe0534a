import { once } from 'node:events';
import type { Writable } from 'node:stream';
import type { Principal } from '../../contracts/access';
import type { RegionService } from '../../regions/service';
import type { Camera } from '../../contracts/cameras';
import { transferFields } from '../../contracts/import';
import type { CameraService } from '../service';
import { xmlElement, xmlEscape } from './catalog';
import { csvLine } from './csv';
import { fieldLabels, type TransferField } from './fields';
import { RegionDirectory } from './regions';
import type { ExportQuery } from './schema';
import { writeXlsx } from './xlsx';

/** Export columns: every field except the id/code forms of the region (names are portable, ids are not). */
export const exportFields: readonly TransferField[] = transferFields.filter((f) => f !== 'regionId' && f !== 'regionCode');

const numericFields = new Set<TransferField>(['lon', 'lat', 'rtspPort', 'httpPort', 'onvifPort', 'probeIntervalSec', 'probeTimeoutMs', 'probeRetries']);

const PAGE = 1000;

function dateOut(iso: string | null): string {
  if (!iso) return '';
  return iso.endsWith('T00:00:00.000Z') ? iso.slice(0, 10) : iso;
}

export interface ExportRecord {
  camera: Camera;
  values: Record<TransferField, string>;
}

/** Pages through the list endpoint's own query (same filters, same visibility), one page per round trip. */
export async function* exportRecords(
  cameras: CameraService,
  regions: RegionService,
  principal: Principal,
  q: ExportQuery,
): AsyncGenerator<ExportRecord[]> {
  const { format: _f, lang, ...filters } = q;
  const dir = new RegionDirectory(regions.current());
  let cursor: string | undefined;
  for (;;) {
    const page = await cameras.list(principal, { ...filters, sort: 'gbCode', limit: PAGE, count: false, ...(cursor ? { cursor } : {}) });
    const upIds = [...new Set(page.items.map((c) => c.upstreamId).filter((id): id is string => id !== null))];
    // upstream devices the caller cannot see stay blank: their codes are not his to read
    const upCodes = await cameras.codesOf(principal, upIds);
    yield page.items.map((c) => ({ camera: c, values: flatten(c, dir, upCodes, lang) }));
    if (!page.nextCursor) return;
    cursor = page.nextCursor;
  }
}

function flatten(c: Camera, dir: RegionDirectory, upCodes: Map<string, string>, lang: 'zh' | 'en'): Record<TransferField, string> {
  const path = dir.pathNames(c.regionId);
  const grid = c.gridId ? dir.get(c.gridId) : undefined;
  const num = (n: number | null | undefined): string => (n === null || n === undefined ? '' : String(n));
  return {
    gbCode: c.gbCode,
    name: c.name,
    district: path.district,
    street: path.street,
    community: path.community,
    regionId: c.regionId,
    regionCode: '',
    grid: grid ? grid.name : '',
    address: c.address,
    lon: num(c.location?.lon),
    lat: num(c.location?.lat),
    host: c.endpoint.host ?? '',
    rtspPort: num(c.endpoint.rtspPort),
    rtspPath: c.endpoint.rtspPath,
    httpPort: num(c.endpoint.httpPort),
    onvifPort: num(c.endpoint.onvifPort),
    probeKind: c.probe.kind,
    probeIntervalSec: num(c.probe.intervalSec),
    probeTimeoutMs: num(c.probe.timeoutMs),
    probeRetries: num(c.probe.retries),
    vendor: c.vendor,
    model: c.model,
    ownerUnit: c.ownerUnit,
    maintainerOrg: c.maintainer.org,
    maintainerContact: c.maintainer.contact,
    maintainerPhone: c.maintainer.phone,
    sharing: c.sharing,
    upstream: c.upstreamId ? (upCodes.get(c.upstreamId) ?? '') : '',
    tags: c.tags.join(';'),
    enabled: lang === 'zh' ? (c.enabled ? '是' : '否') : String(c.enabled),
    installedAt: dateOut(c.installedAt),
    note: c.note,
  };
}

async function write(out: Writable, chunk: string | Buffer): Promise<void> {
  if (!out.write(chunk)) await once(out, 'drain');
}

/** UTF-8 with a BOM: without it, Chinese Excel reads UTF-8 as GBK and shows mojibake. */
export async function writeCsv(out: Writable, lang: 'zh' | 'en', pages: AsyncIterable<ExportRecord[]>): Promise<void> {
  await write(out, Buffer.from([0xef, 0xbb, 0xbf]));
  await write(out, csvLine(exportFields.map((f) => fieldLabels[f][lang])));
  for await (const page of pages) {
    let chunk = '';
    for (const r of page) chunk += csvLine(exportFields.map((f) => r.values[f]));
    if (chunk) await write(out, chunk);
  }
  out.end();
}

export async function writeXlsxExport(out: Writable, lang: 'zh' | 'en', pages: AsyncIterable<ExportRecord[]>): Promise<void> {
  async function* rows(): AsyncGenerator<string[]> {
    for await (const page of pages) for (const r of page) yield exportFields.map((f) => r.values[f]);
  }
  await writeXlsx(
    out,
    exportFields.map((f) => ({ header: fieldLabels[f][lang], numeric: numericFields.has(f) })),
    rows(),
  );
}

/**
 * A GB/T 28181 Catalog response. Standard elements first; the fields the standard has no slot for follow
 * as extra elements named like the English CSV headers (receivers ignore unknown elements; Vigil's
 * importer reads them back, so the file round-trips). Status is ON only for points currently UP.
 */
export async function writeCatalog(out: Writable, total: number, regions: RegionService, pages: AsyncIterable<ExportRecord[]>): Promise<void> {
  const roots = regions.listAll().filter((n) => n.parentId === null && n.code);
  const center = (roots.length === 1 ? (roots[0].code as string) : '').padEnd(8, '0').slice(0, 8);
  const platformId = `${center}002000000001`;
  await write(out, `<?xml version="1.0" encoding="UTF-8"?>\n<Response>\n<CmdType>Catalog</CmdType>\n<SN>1</SN>\n<DeviceID>${platformId}</DeviceID>\n<SumNum>${total}</SumNum>\n<DeviceList Num="${total}">\n`);
  const extra: TransferField[] = ['district', 'street', 'community', 'grid', 'rtspPath', 'httpPort', 'onvifPort', 'probeKind', 'probeIntervalSec', 'probeTimeoutMs', 'probeRetries', 'maintainerOrg', 'maintainerContact', 'maintainerPhone', 'sharing', 'tags', 'enabled', 'installedAt', 'note'];
  for await (const page of pages) {
    let chunk = '';
    for (const { camera: c, values: v } of page) {
      const civil = regions.effectiveCode(c.regionId) ?? '';
      chunk +=
        '<Item>' +
        `<DeviceID>${xmlEscape(c.gbCode)}</DeviceID>` +
        `<Name>${xmlEscape(c.name)}</Name>` +
        `<Manufacturer>${xmlEscape(c.vendor)}</Manufacturer>` +
        `<Model>${xmlEscape(c.model)}</Model>` +
        `<Owner>${xmlEscape(c.ownerUnit)}</Owner>` +
        `<CivilCode>${xmlEscape(civil)}</CivilCode>` +
        `<Address>${xmlEscape(c.address)}</Address>` +
        '<Parental>0</Parental>' +
        `<ParentID>${xmlEscape(v.upstream || platformId)}</ParentID>` +
        '<SafetyWay>0</SafetyWay><RegisterWay>1</RegisterWay><Secrecy>0</Secrecy>' +
        // a point not yet connected has no address: the element is left out, as the standard allows
        xmlElement('IPAddress', v.host) +
        `<Port>${c.endpoint.rtspPort}</Port>` +
        `<Status>${c.status.state === 'UP' ? 'ON' : 'OFF'}</Status>` +
        xmlElement('Longitude', v.lon) +
        xmlElement('Latitude', v.lat) +
        extra.map((f) => `<${fieldLabels[f].en}>${xmlEscape(f === 'enabled' ? String(c.enabled) : v[f])}</${fieldLabels[f].en}>`).join('') +
        '</Item>\n';
    }
    if (chunk) await write(out, chunk);
  }
  await write(out, '</DeviceList>\n</Response>\n');
  out.end();
}
