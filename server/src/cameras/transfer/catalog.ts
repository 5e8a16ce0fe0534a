import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { deviceTypes, pointTypeCodes } from '../gbcode';
import { fieldForHeader, type SourceRow, type TransferField } from './fields';
import { TableError } from './table';

/**
 * GB/T 28181 Catalog items → source rows. Standard elements map as below; any other element whose name
 * is a known column (Vigil's own export adds `street`, `community`, `grid`, `tags`, …) maps through the
 * header table, so a Vigil catalog export round-trips.
 *
 * | element      | field       |   | element     | field      |
 * |--------------|-------------|---|-------------|------------|
 * | DeviceID     | gbCode      |   | IPAddress   | host       |
 * | Name         | name        |   | Port        | rtspPort   |
 * | Manufacturer | vendor      |   | Longitude   | lon        |
 * | Model        | model       |   | Latitude    | lat        |
 * | Owner        | ownerUnit   |   | ParentID    | upstream (only when it names a device, not a platform/group) |
 * | CivilCode    | regionCode  |   | Address     | address    |
 *
 * An item without IPAddress is a point not yet connected (未接入), as in a ledger row without IP地址.
 * Ignored: Block, Parental, BusinessGroupID, SafetyWay, RegisterWay, Secrecy, Status (a live state, not
 * registry data), Info. Items that are platforms, business groups or virtual organisations (type codes
 * outside the point types) are skipped and counted.
 */
const standard: Readonly<Record<string, TransferField | null>> = {
  deviceid: 'gbCode',
  name: 'name',
  manufacturer: 'vendor',
  model: 'model',
  owner: 'ownerUnit',
  civilcode: 'regionCode',
  address: 'address',
  ipaddress: 'host',
  port: 'rtspPort',
  longitude: 'lon',
  latitude: 'lat',
  parentid: 'upstream',
  block: null,
  parental: null,
  businessgroupid: null,
  safetyway: null,
  registerway: null,
  certnum: null,
  certifiable: null,
  errcode: null,
  endtime: null,
  secrecy: null,
  password: null,
  status: null,
  info: null,
};

/** XML declares its own encoding; we read the prolog as ASCII before decoding the rest. */
export function declaredXmlEncoding(buf: Buffer): string | undefined {
  const head = buf.subarray(0, 200).toString('latin1');
  const m = /^\s*(?:\uFEFF|\u00EF\u00BB\u00BF)?\s*<\?xml[^>]*\bencoding\s*=\s*["']([A-Za-z0-9._-]+)["']/.exec(head);
  return m?.[1];
}

export function looksLikeXml(buf: Buffer): boolean {
  const head = buf.subarray(0, 64).toString('latin1').replace(/^\u00EF\u00BB\u00BF/, '').trimStart();
  return head.startsWith('<');
}

const predefined: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/**
 * Entity references are resolved here, in one pass, instead of by the parser: only the five predefined
 * entities and numeric character references exist, so no document can define or expand its own (no
 * billion laughs, no external entities). Documents with a DOCTYPE are refused before parsing.
 */
function decodeEntities(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(/&(#x[0-9a-fA-F]{1,6}|#[0-9]{1,7}|[a-zA-Z]+);/g, (whole, ref: string) => {
    if (ref[0] === '#') {
      const cp = ref[1] === 'x' || ref[1] === 'X' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      return cp > 0 && cp <= 0x10ffff ? String.fromCodePoint(cp) : whole;
    }
    return predefined[ref] ?? whole;
  });
}

type XmlNode = Record<string, unknown>;

function isNode(v: unknown): v is XmlNode {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const CDATA = '#cdata';
const TEXT = '#text';

function textOf(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return decodeEntities(String(v));
  if (Array.isArray(v)) return textOf(v[0]);
  if (isNode(v)) {
    const parts: string[] = [];
    const t = v[TEXT];
    if (typeof t === 'string' || typeof t === 'number') parts.push(decodeEntities(String(t)));
    const cdata = v[CDATA];
    for (const c of Array.isArray(cdata) ? (cdata as unknown[]) : [cdata]) if (typeof c === 'string') parts.push(c);
    return parts.length ? parts.join('') : undefined;
  }
  return undefined;
}

function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 0x0a) starts.push(i + 1);
  return starts;
}

function lineAt(starts: number[], offset: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo + 1;
}

function findDeviceLists(node: unknown, depth: number, out: XmlNode[]): void {
  if (depth > 4 || !isNode(node)) return;
  for (const [k, v] of Object.entries(node)) {
    if (k.startsWith('@_') || k === TEXT || k === CDATA) continue;
    const items = Array.isArray(v) ? v : [v];
    for (const child of items) {
      if (k.toLowerCase() === 'devicelist' && isNode(child)) out.push(child);
      else findDeviceLists(child, depth + 1, out);
    }
  }
}

/** A ParentID names an upstream device only when it is a point type (an NVR, a DVR, an encoder …). */
function isDeviceCode(code: string): boolean {
  return /^\d{20}$/.test(code) && pointTypeCodes.includes(code.slice(10, 13));
}

export interface CatalogParse {
  rows: SourceRow[];
  ignoredColumns: string[];
  /** Items that are not points (platforms, groups, virtual organisations). */
  skipped: number;
}

export function parseCatalog(text: string): CatalogParse {
  if (/<!DOCTYPE/i.test(text) || /<!ENTITY/i.test(text)) {
    throw new TableError('XML with a DOCTYPE or entity declarations is not accepted (a GB/T 28181 catalog never needs one)');
  }
  const valid = XMLValidator.validate(text);
  if (valid !== true) {
    throw new TableError(`malformed XML at line ${valid.err.line}, column ${valid.err.col}: ${valid.err.msg}`);
  }
  const parser = new XMLParser({
    processEntities: false,
    htmlEntities: false,
    parseTagValue: false,
    parseAttributeValue: false,
    ignoreAttributes: false,
    ignoreDeclaration: true,
    ignorePiTags: true,
    cdataPropName: CDATA,
    captureMetaData: true,
    maxNestedTags: 20,
    isArray: (name) => name === 'Item' || name === 'item',
  });
  let doc: unknown;
  try {
    doc = parser.parse(text);
  } catch (err) {
    // the parser refuses element names such as <constructor> or <__proto__> (prototype pollution): bad input, not a crash
    throw new TableError(`malformed catalog XML: ${err instanceof Error ? err.message.replace(/^\[SECURITY\]\s*/, '') : 'unreadable'}`);
  }
  const lists: XmlNode[] = [];
  findDeviceLists(doc, 0, lists);
  if (lists.length === 0) throw new TableError('not a GB/T 28181 Catalog: no <DeviceList> element found');
  const meta = XMLParser.getMetaDataSymbol() as unknown as symbol;
  const starts = lineStarts(text);
  const rows: SourceRow[] = [];
  const ignored = new Set<string>();
  let skipped = 0;
  for (const list of lists) {
    const items = list.Item ?? list.item ?? [];
    for (const item of Array.isArray(items) ? items : [items]) {
      if (!isNode(item)) continue;
      const m = (item as Record<symbol, { startIndex?: number } | undefined>)[meta];
      const line = m?.startIndex !== undefined ? lineAt(starts, m.startIndex) : 0;
      const values: Partial<Record<TransferField, string>> = {};
      const present: TransferField[] = [];
      for (const [tag, v] of Object.entries(item)) {
        if (tag.startsWith('@_') || tag === TEXT || tag === CDATA) continue;
        const lower = tag.toLowerCase();
        const field = Object.hasOwn(standard, lower) ? standard[lower] : fieldForHeader(tag);
        if (field === undefined) {
          ignored.add(tag);
          continue;
        }
        if (field === null) continue;
        const t = textOf(v)?.trim();
        if (field === 'upstream' && lower === 'parentid' && t && !isDeviceCode(t)) continue;
        present.push(field);
        if (t) values[field] = t;
      }
      const code = values.gbCode;
      if (code && /^\d{20}$/.test(code) && deviceTypes[code.slice(10, 13)] && !pointTypeCodes.includes(code.slice(10, 13))) {
        skipped++;
        continue;
      }
      rows.push({ line, values, present });
    }
  }
  return { rows, ignoredColumns: [...ignored], skipped };
}

const xmlEscapes: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

export function xmlEscape(s: string): string {
  // characters XML 1.0 cannot carry at all are dropped rather than producing an unreadable document
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '').replace(/[&<>"']/g, (c) => xmlEscapes[c]);
}

export function xmlElement(tag: string, value: string | undefined): string {
  return value === undefined || value === '' ? '' : `<${tag}>${xmlEscape(value)}</${tag}>`;
}
