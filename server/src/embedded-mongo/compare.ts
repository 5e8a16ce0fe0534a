/**
 * MongoDB's cross-type comparison order (https://www.mongodb.com/docs/manual/reference/bson-type-comparison-order/)
 * for sort and index keys. mingo compares ObjectId/Long/Decimal128 through toString(), which is wrong for
 * ordering numbers, so sorting and index keys use this module instead.
 */
import { asDouble, compareNumbers } from './numbers';

export type Doc = Record<string, unknown>;

interface Tagged {
  _bsontype?: string;
}

/** Bounds used only inside index scans: strictly below/above every value of one type rank. */
export class TypeBound {
  constructor(
    readonly rank: number,
    readonly edge: -1 | 1,
  ) {}
}
export const LOWEST = new TypeBound(-1, 1);
export const HIGHEST = new TypeBound(99, -1);

export function typeRank(v: unknown): number {
  if (v === undefined || v === null) return 1;
  switch (typeof v) {
    case 'number':
    case 'bigint':
      return 2;
    case 'string':
      return 3;
    case 'boolean':
      return 8;
    case 'object':
      break;
    case 'function':
    case 'symbol':
    case 'undefined':
      return 3;
  }
  if (Array.isArray(v)) return 5;
  if (v instanceof Date) return 9;
  if (v instanceof RegExp) return 11;
  if (v instanceof TypeBound) return v.rank;
  switch ((v as Tagged)._bsontype) {
    case undefined:
      return 4;
    case 'ObjectId':
      return 7;
    case 'Long':
    case 'Double':
    case 'Int32':
    case 'Decimal128':
      return 2;
    case 'Binary':
      return 6;
    case 'Timestamp':
      return 10;
    case 'MinKey':
      return 0;
    case 'MaxKey':
      return 12;
    case 'BSONRegExp':
      return 11;
    case 'BSONSymbol':
      return 3;
    case 'Code':
      return 11.5;
    default:
      return 4;
  }
}

/** A numeric value as a JS double (approximate beyond 2^53 and for decimals: compare with compareValues). */
export function toNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  const t = v as { _bsontype?: string; valueOf?: () => number };
  if (t?._bsontype !== undefined) return asDouble(v);
  return Number(t?.valueOf?.() ?? NaN);
}

function cmp<T extends string | number>(a: T, b: T): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function bytesOf(v: unknown): Uint8Array {
  const b = v as { buffer?: Uint8Array; id?: Uint8Array };
  return (b.buffer ?? b.id ?? new Uint8Array(0));
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/**
 * Strings in mongod's order: by UTF-8 bytes, which is code point order. JS `<` compares UTF-16 code units,
 * which differs only where a surrogate (U+D800–DFFF, half of a character above U+FFFF) meets a unit of
 * U+E000–FFFF (full-width punctuation, compatibility ideographs): there the surrogate is the greater.
 */
export function compareStrings(a: string, b: string): number {
  const n = a.length < b.length ? a.length : b.length;
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return x >= 0xd800 && y >= 0xd800 ? codePointRank(x) - codePointRank(y) : x - y;
  }
  return a.length - b.length;
}

/** A UTF-16 code unit ≥ U+D800 moved so that unit order is code point order (surrogates above U+FFFF). */
export function codePointRank(u: number): number {
  return u >= 0xe000 ? u - 0x800 : u >= 0xd800 ? u + 0x2000 : u;
}

/** Total order over BSON values, MongoDB semantics (numbers across types compare by value). */
export function compareValues(a: unknown, b: unknown): number {
  if (a === b) return 0;
  const ta = typeof a;
  if (ta === typeof b) {
    if (ta === 'string') return compareStrings(a as string, b as string);
    if (ta === 'number' && a === a && b === b) return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
  }
  const ra = typeRank(a);
  const rb = typeRank(b);
  if (ra !== rb) return ra - rb;
  if (a instanceof TypeBound) return b instanceof TypeBound ? a.edge - b.edge : a.edge;
  if (b instanceof TypeBound) return -b.edge;
  switch (ra) {
    case 1:
    case 0:
    case 12:
      return 0;
    case 2:
      return compareNumbers(a, b);
    case 3:
      return compareStrings(String(a), String(b));
    case 4:
      return compareObjects(a as Doc, b as Doc);
    case 5: {
      const xa = a as unknown[];
      const xb = b as unknown[];
      const n = Math.min(xa.length, xb.length);
      for (let i = 0; i < n; i++) {
        const c = compareValues(xa[i], xb[i]);
        if (c !== 0) return c;
      }
      return xa.length - xb.length;
    }
    case 6: {
      const la = bytesOf(a);
      const lb = bytesOf(b);
      if (la.length !== lb.length) return la.length - lb.length;
      const sa = (a as { sub_type?: number }).sub_type ?? 0;
      const sb = (b as { sub_type?: number }).sub_type ?? 0;
      return sa !== sb ? sa - sb : compareBytes(la, lb);
    }
    case 7: {
      // bson 7 keeps an ObjectId as four 24-bit integers; reading `.id` would allocate a Buffer per compare.
      const oa = a as { i0?: number; i1: number; i2: number; i3: number };
      const ob = b as { i0?: number; i1: number; i2: number; i3: number };
      if (typeof oa.i0 === 'number' && typeof ob.i0 === 'number') {
        return oa.i0 - ob.i0 || oa.i1 - ob.i1 || oa.i2 - ob.i2 || oa.i3 - ob.i3;
      }
      return compareBytes(bytesOf(a), bytesOf(b));
    }
    case 8:
      return (a ? 1 : 0) - (b ? 1 : 0);
    case 9:
      return cmp((a as Date).getTime(), (b as Date).getTime());
    case 10: {
      const ta = a as { high: number; low: number };
      const tb = b as { high: number; low: number };
      return ta.high !== tb.high ? cmp(ta.high >>> 0, tb.high >>> 0) : cmp(ta.low >>> 0, tb.low >>> 0);
    }
    default:
      return compareStrings(String(a), String(b));
  }
}

function compareObjects(a: Doc, b: Doc): number {
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  const n = Math.min(ka.length, kb.length);
  for (let i = 0; i < n; i++) {
    const va = a[ka[i]];
    const vb = b[kb[i]];
    const r = typeRank(va) - typeRank(vb);
    if (r !== 0) return r;
    const k = compareStrings(ka[i], kb[i]);
    if (k !== 0) return k;
    const c = compareValues(va, vb);
    if (c !== 0) return c;
  }
  return ka.length - kb.length;
}

/** Strict equality of BSON values (numbers by value, documents by field order too). */
export function valuesEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) {
    return typeof a === typeof b ? false : typeRank(a) === 2 && typeRank(b) === 2 && compareNumbers(a, b) === 0;
  }
  return typeRank(a) === typeRank(b) && compareValues(a, b) === 0 && sameNumberKinds(a, b);
}

function sameNumberKinds(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return a.every((x, i) => valuesEqual(x, b[i]));
  return true;
}

/** Values found at a dotted path, descending into arrays the way MongoDB does for queries and index keys. */
export function pathValues(doc: unknown, path: string): unknown[] {
  const out: unknown[] = [];
  collect(doc, path.split('.'), 0, out);
  return out;
}

function collect(v: unknown, parts: string[], i: number, out: unknown[]): void {
  if (i === parts.length) {
    if (Array.isArray(v)) {
      if (v.length === 0) out.push(undefined);
      else for (const e of v) out.push(e);
    } else out.push(v);
    return;
  }
  if (v === null || typeof v !== 'object') {
    out.push(undefined);
    return;
  }
  if (Array.isArray(v)) {
    const idx = /^\d+$/.test(parts[i]) ? Number(parts[i]) : -1;
    if (idx >= 0) {
      collect(v[idx], parts, i + 1, out);
      return;
    }
    if (v.length === 0) out.push(undefined);
    for (const e of v) {
      if (e !== null && typeof e === 'object') collect(e, parts, i, out);
      else out.push(undefined);
    }
    return;
  }
  if ((v as Tagged)._bsontype !== undefined || v instanceof Date) {
    out.push(undefined);
    return;
  }
  collect((v as Doc)[parts[i]], parts, i + 1, out);
}

/** Value at a dotted path without array expansion (undefined when absent). */
export function getPath(doc: unknown, path: string): unknown {
  let v: unknown = doc;
  for (const p of path.split('.')) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Doc)[p];
  }
  return v;
}

/** Sort key of one field: the smallest element ascending, the largest descending, like MongoDB. */
export function sortKey(doc: Doc, path: string, dir: number): unknown {
  const direct = path.indexOf('.') < 0 ? doc[path] : undefined;
  if (direct !== undefined && !Array.isArray(direct)) return direct;
  const values = pathValues(doc, path);
  if (values.length === 1) return values[0];
  let best = values[0];
  for (let i = 1; i < values.length; i++) {
    const c = compareValues(values[i], best);
    if (dir > 0 ? c < 0 : c > 0) best = values[i];
  }
  return best;
}

export type SortSpec = [string, number][];

export function parseSort(sort: unknown): SortSpec {
  if (!sort || typeof sort !== 'object') return [];
  return Object.entries(sort as Doc).map(([k, v]) => [k, toNumber(v) < 0 ? -1 : 1]);
}

/** In-place sort computing each document's sort keys once (not per comparison). Stable, like mongod's. */
export function sortDocs(docs: Doc[], sort: SortSpec): void {
  if (docs.length < 2) return;
  const copy = docs.slice();
  sortOrder(copy, sort).forEach((j, i) => (docs[i] = copy[j]));
}

/** The positions of `docs` in `sort` order (stable); each document's sort keys are computed once. */
export function sortOrder(docs: Doc[], sort: SortSpec): number[] {
  const keyed = docs.map((d, i) => ({ i, k: sort.map(([path, dir]) => sortKey(d, path, dir)) }));
  keyed.sort((a, b) => {
    for (let j = 0; j < sort.length; j++) {
      const c = compareValues(a.k[j], b.k[j]);
      if (c !== 0) return sort[j][1] * c;
    }
    return a.i - b.i;
  });
  return keyed.map((e) => e.i);
}
