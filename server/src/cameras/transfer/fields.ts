import { transferFields, type TransferField } from '../../contracts/import';

// the column keys are listed in contracts/import.ts (the import report names them); the transfer modules read the type here
export type { TransferField };

/**
 * The flat column model shared by every import and export format. A file's header (Chinese or English,
 * case-, width- and space-insensitive) is mapped onto these keys; exports write them with the labels below.
 *
 * | key               | export header (zh / en)        | also accepted on import                                   |
 * |-------------------|--------------------------------|-----------------------------------------------------------|
 * | gbCode            | 国标编码 / gbCode              | 国标ID, 国标id, 设备编码, 设备国标编码, 编码, DeviceID, code |
 * | name              | 名称 / name                    | 点位名称, 设备名称, 摄像机名称                              |
 * | district          | 所属区县 / district            | 区县, 所属区, 区                                           |
 * | street            | 所属街道 / street              | 街道, 街道名称, 乡镇                                       |
 * | community         | 所属社区 / community           | 社区, 社区名称, 村/社区                                    |
 * | regionId          | 区域ID / regionId              |                                                           |
 * | regionCode        | 区划编码 / regionCode          | 行政区划代码, CivilCode                                    |
 * | grid              | 网格 / grid                    | 所属网格, 网格名称, 网格编码, gridName, gridCode, gridId     |
 * | address           | 地址 / address                 | 安装地址, 详细地址, 安装位置, 位置                         |
 * | lon / lat         | 经度 / lon, 纬度 / lat         | longitude, latitude, lng                                 |
 * | host              | IP地址 / host                  | IP, IPAddress, ip address, 设备IP                          |
 * | rtspPort          | RTSP端口 / rtspPort            | 端口, port                                                 |
 * | rtspPath          | RTSP路径 / rtspPath            |                                                           |
 * | httpPort          | HTTP端口 / httpPort            | web端口                                                    |
 * | onvifPort         | ONVIF端口 / onvifPort          |                                                           |
 * | probeKind         | 检测方式 / probeKind           | 探测方式                                                   |
 * | probeIntervalSec  | 检测间隔秒 / probeIntervalSec  | 检测间隔                                                   |
 * | probeTimeoutMs    | 检测超时毫秒 / probeTimeoutMs  | 超时                                                       |
 * | probeRetries      | 重试次数 / probeRetries        |                                                           |
 * | vendor            | 厂商 / vendor                  | 品牌, 生产厂商, Manufacturer                               |
 * | model             | 型号 / model                   | 设备型号                                                   |
 * | ownerUnit         | 权属单位 / ownerUnit           | 建设单位, 所属单位, 管理单位, Owner                        |
 * | maintainerOrg     | 运维单位 / maintainer          | 维护单位, 运维公司, maintainerOrg                          |
 * | maintainerContact | 联系人 / contact               | 运维联系人, maintainerContact                              |
 * | maintainerPhone   | 联系电话 / phone               | 运维电话, 电话, maintainerPhone                            |
 * | sharing           | 共享 / sharing                 | 共享范围, 共享属性                                         |
 * | upstream          | 上级设备 / upstream            | 上级设备编码, 上联设备, ParentID                           |
 * | tags              | 标签 / tags                    |                                                           |
 * | enabled           | 启用 / enabled                 | 是否启用, 状态(启用/停用)                                  |
 * | installedAt       | 安装日期 / installedAt         | 安装时间, 建设日期                                         |
 * | note              | 备注 / note                    | 说明                                                      |
 *
 * An empty IP地址 cell (or no IP地址 column, for a new point) registers a point not yet connected (未接入):
 * planned, under construction or reached only through an upper platform; it is not probed until it gets a host.
 * Unknown columns are ignored and listed in the import report (`ignoredColumns`).
 */

/** One data row of any source format, with the 1-based line (CSV/XML) or sheet row (XLSX) it came from. */
export interface SourceRow {
  line: number;
  values: Partial<Record<TransferField, string>>;
  /** Per-field notes found while reading (e.g. an XLSX number cell that lost the digits of a 20-digit code). */
  cellProblems?: Array<{ field: TransferField | 'row'; reason: string }>;
  /** Catalog XML: the fields the item carries, empty ones included (an empty element clears the value). */
  present?: TransferField[];
}

export interface ParsedTable {
  format: 'csv' | 'xlsx' | 'gb28181';
  /** The text encoding used to read the file (xlsx: always utf-8). */
  encoding: 'utf-8' | 'gb18030';
  rows: SourceRow[];
  /** Header cells that match no known column. */
  ignoredColumns: string[];
  /**
   * The columns the file has (CSV/XLSX header). A field whose column is missing keeps its stored value on
   * update; a present column with an empty cell clears it. Catalog XML has no header: there, each item's
   * own elements count as its columns.
   */
  columns?: TransferField[];
  /** Field → the header text the file used, so reports name columns the way the user wrote them. */
  headerText?: Partial<Record<TransferField, string>>;
}

interface Labels {
  zh: string;
  en: string;
  aliases?: string[];
}

export const fieldLabels: Readonly<Record<TransferField, Labels>> = {
  gbCode: { zh: '国标编码', en: 'gbCode', aliases: ['国标ID', '国标id', '国标编号', '设备编码', '设备国标编码', '编码', 'DeviceID', 'code', 'gb code'] },
  name: { zh: '名称', en: 'name', aliases: ['点位名称', '设备名称', '摄像机名称', '监控点名称'] },
  district: { zh: '所属区县', en: 'district', aliases: ['区县', '所属区', '区'] },
  street: { zh: '所属街道', en: 'street', aliases: ['街道', '街道名称', '乡镇', '所属乡镇'] },
  community: { zh: '所属社区', en: 'community', aliases: ['社区', '社区名称', '村/社区'] },
  regionId: { zh: '区域ID', en: 'regionId' },
  regionCode: { zh: '区划编码', en: 'regionCode', aliases: ['行政区划代码', '行政区划', 'CivilCode'] },
  grid: { zh: '网格', en: 'grid', aliases: ['所属网格', '网格名称', '网格编码', 'gridName', 'gridCode', 'gridId'] },
  address: { zh: '地址', en: 'address', aliases: ['安装地址', '详细地址', '安装位置', '位置'] },
  lon: { zh: '经度', en: 'lon', aliases: ['longitude', 'lng'] },
  lat: { zh: '纬度', en: 'lat', aliases: ['latitude'] },
  host: { zh: 'IP地址', en: 'host', aliases: ['IP', 'IPAddress', 'ip address', '设备IP', '设备IP地址'] },
  rtspPort: { zh: 'RTSP端口', en: 'rtspPort', aliases: ['端口', 'port'] },
  rtspPath: { zh: 'RTSP路径', en: 'rtspPath' },
  httpPort: { zh: 'HTTP端口', en: 'httpPort', aliases: ['web端口'] },
  onvifPort: { zh: 'ONVIF端口', en: 'onvifPort' },
  probeKind: { zh: '检测方式', en: 'probeKind', aliases: ['探测方式'] },
  probeIntervalSec: { zh: '检测间隔秒', en: 'probeIntervalSec', aliases: ['检测间隔', '检测间隔(秒)'] },
  probeTimeoutMs: { zh: '检测超时毫秒', en: 'probeTimeoutMs', aliases: ['超时', '检测超时', '检测超时(毫秒)'] },
  probeRetries: { zh: '重试次数', en: 'probeRetries' },
  vendor: { zh: '厂商', en: 'vendor', aliases: ['品牌', '生产厂商', '设备厂商', 'Manufacturer'] },
  model: { zh: '型号', en: 'model', aliases: ['设备型号'] },
  ownerUnit: { zh: '权属单位', en: 'ownerUnit', aliases: ['建设单位', '所属单位', '管理单位', 'Owner'] },
  maintainerOrg: { zh: '运维单位', en: 'maintainer', aliases: ['维护单位', '运维公司', 'maintainerOrg'] },
  maintainerContact: { zh: '联系人', en: 'contact', aliases: ['运维联系人', 'maintainerContact'] },
  maintainerPhone: { zh: '联系电话', en: 'phone', aliases: ['运维电话', '电话', 'maintainerPhone'] },
  sharing: { zh: '共享', en: 'sharing', aliases: ['共享范围', '共享属性'] },
  upstream: { zh: '上级设备', en: 'upstream', aliases: ['上级设备编码', '上联设备', 'ParentID', 'upstreamGbCode'] },
  tags: { zh: '标签', en: 'tags' },
  enabled: { zh: '启用', en: 'enabled', aliases: ['是否启用', '状态(启用/停用)'] },
  installedAt: { zh: '安装日期', en: 'installedAt', aliases: ['安装时间', '建设日期'] },
  note: { zh: '备注', en: 'note', aliases: ['说明'] },
};

/**
 * Header normal form: NFKC (full-width letters, digits and brackets become ASCII), lower case, and no
 * whitespace, brackets, underscores, hyphens or slashes — so `RTSP 端口`, `rtsp_port` and `ＲＴＳＰ端口` all match.
 */
export function normalizeHeader(header: string): string {
  return header
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[\s()[\]{}（）【】_\-/\\:：*]/g, '');
}

const headerIndex: ReadonlyMap<string, TransferField> = (() => {
  const m = new Map<string, TransferField>();
  for (const key of transferFields) {
    const l = fieldLabels[key];
    for (const h of [key, l.zh, l.en, ...(l.aliases ?? [])]) m.set(normalizeHeader(h), key);
  }
  return m;
})();

export function fieldForHeader(header: string): TransferField | undefined {
  return headerIndex.get(normalizeHeader(header));
}

/** The label a report uses for a field: the file's own header text when known, else the Chinese label. */
export function fieldLabel(field: TransferField, lang: 'zh' | 'en' = 'zh'): string {
  return fieldLabels[field][lang];
}

export interface HeaderMapping {
  /** Column index → field, for the columns that map. */
  columns: Array<TransferField | undefined>;
  ignored: string[];
  /** Field → the header text the file used (reports name fields the way the user wrote them). */
  headerText: Partial<Record<TransferField, string>>;
}

/** Maps header cells to fields. Throws a message (for a 400) when a column is duplicated. */
export function mapHeader(cells: string[]): HeaderMapping {
  const columns: Array<TransferField | undefined> = [];
  const ignored: string[] = [];
  const headerText: Partial<Record<TransferField, string>> = {};
  cells.forEach((raw, i) => {
    const text = raw.trim();
    const field = text ? fieldForHeader(text) : undefined;
    if (field && headerText[field] !== undefined) {
      throw new HeaderError(`columns "${headerText[field]}" and "${text}" both mean ${field} (column ${i + 1})`);
    }
    if (field) headerText[field] = text;
    else if (text) ignored.push(text);
    columns.push(field);
  });
  return { columns, ignored, headerText };
}

export class HeaderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HeaderError';
  }
}

/** A header row is one that maps at least two columns, one of them the GB code. */
export function looksLikeHeader(cells: string[]): boolean {
  let mapped = 0;
  let hasCode = false;
  for (const c of cells) {
    const f = c.trim() ? fieldForHeader(c.trim()) : undefined;
    if (f) mapped++;
    if (f === 'gbCode') hasCode = true;
  }
  return hasCode && mapped >= 2;
}
