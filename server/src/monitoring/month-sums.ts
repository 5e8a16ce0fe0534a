import { cameraOfDocId, historyFields, type MonthDoc } from './history-store';

/**
 * A month document (history-store.ts) summed over some of its days: what a report of whole days needs of it,
 * without the document itself. A district's month is 300,000 documents of ~60 figures each; decoding them into
 * objects costs more than the sums (and leaves ~18 million properties for the GC), so a bulk read sums each
 * document straight from its BSON bytes (`sumMonthBytes`), and decodes only a document it cannot walk
 * (`sumMonthDoc`, the same sums from the decoded document).
 */
export interface MonthSum {
  cameraId: string;
  /** Seconds per history category (historyFields order) over the days asked for. */
  sec: number[];
  /** PENDING seconds over those days. */
  pending: number;
  /** The category recorded at the midnight of the day asked for (`s`), if any. */
  midnight: number | undefined;
}

/** Which days of the month to sum (index: day of month 1..31) and the day whose midnight state is wanted (0: none). */
export interface MonthDays {
  doms: Uint8Array;
  midnightDom: number;
}

export function monthDays(doms: readonly number[], midnightDom: number): MonthDays {
  const mask = new Uint8Array(32);
  for (const d of doms) if (d >= 1 && d <= 31) mask[d] = 1;
  return { doms: mask, midnightDom };
}

/** Field index of each summed field name's one byte: u d m n c x → 0..5, p → 6, s → 7. */
const FIELD = new Int8Array(128).fill(-1);
historyFields.forEach((f, i) => (FIELD[f.charCodeAt(0)] = i));
const P = historyFields.length;
const S = P + 1;
FIELD['p'.charCodeAt(0)] = P;
FIELD['s'.charCodeAt(0)] = S;

/** The same sums from a decoded document (the reference the byte walk must agree with). */
export function sumMonthDoc(doc: MonthDoc, days: MonthDays): MonthSum {
  const sum: MonthSum = { cameraId: cameraOfDocId(doc._id), sec: historyFields.map(() => 0), pending: 0, midnight: undefined };
  for (let d = 1; d < 32; d++) {
    if (!days.doms[d]) continue;
    historyFields.forEach((f, i) => (sum.sec[i] += doc[f]?.[d] ?? 0));
    sum.pending += doc.p?.[d] ?? 0;
  }
  if (days.midnightDom) sum.midnight = doc.s?.[days.midnightDom];
  return sum;
}

/** End of the cstring starting at `p` (index of its 0), or -1. */
function cstringEnd(b: Uint8Array, p: number, end: number): number {
  while (p < end && b[p] !== 0) p++;
  return p < end ? p : -1;
}

/** Where the value of type `type` starting at `p` ends, for the types a month document may hold; -1 otherwise. */
function valueEnd(b: Buffer, type: number, p: number, end: number): number {
  switch (type) {
    case 0x01: // double
    case 0x09: // date
    case 0x11: // timestamp
    case 0x12: // int64
      return p + 8;
    case 0x02: // string
      return p + 4 + b.readInt32LE(p);
    case 0x03: // document
    case 0x04: // array
      return p + b.readInt32LE(p);
    case 0x05: // binary
      return p + 5 + b.readInt32LE(p);
    case 0x07: // ObjectId
      return p + 12;
    case 0x08: // boolean
      return p + 1;
    case 0x0a: // null
      return p;
    case 0x10: // int32
      return p + 4;
    default:
      return end + 1;
  }
}

/**
 * The sums of a month document from its BSON bytes, or null when the bytes hold something the walk does not
 * read as `sumMonthDoc` would (a field of another type, a malformed document): the caller then decodes it.
 */
export function sumMonthBytes(bytes: Uint8Array, days: MonthDays): MonthSum | null {
  const b = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length < 5) return null;
  const end = b.readInt32LE(0) - 1;
  if (end >= b.length || b[end] !== 0) return null;
  const sec = historyFields.map(() => 0);
  let pending = 0;
  let midnight: number | undefined;
  let id: string | undefined;
  let p = 4;
  while (p < end) {
    const type = b[p];
    const nameEnd = cstringEnd(b, p + 1, end);
    if (nameEnd < 0) return null;
    const v = nameEnd + 1;
    const vEnd = valueEnd(b, type, v, end);
    if (vEnd > end || vEnd < v) return null;
    const field = nameEnd === p + 2 && b[p + 1] < 128 ? FIELD[b[p + 1]] : -1;
    if (nameEnd === p + 4 && b[p + 1] === 0x5f && b[p + 2] === 0x69 && b[p + 3] === 0x64) {
      // _id: "yyyymm:cameraId"
      if (type !== 0x02) return null;
      id = b.toString('utf8', v + 4, vEnd - 1);
    } else if (field >= 0) {
      // { "<day of month>": number }
      if (type !== 0x03) return null;
      let q = v + 4;
      const subEnd = vEnd - 1;
      while (q < subEnd) {
        const t = b[q];
        const kEnd = cstringEnd(b, q + 1, subEnd);
        if (kEnd < 0) return null;
        // the day as `doc[f][d]` finds it: "1".."31", no leading zero
        let dom = 0;
        const len = kEnd - q - 1;
        if (len === 1 || (len === 2 && b[q + 1] !== 0x30)) {
          for (let k = q + 1; k < kEnd; k++) {
            const c = b[k] - 0x30;
            if (c < 0 || c > 9) {
              dom = 0;
              break;
            }
            dom = dom * 10 + c;
          }
        }
        const w = kEnd + 1;
        let n: number;
        if (t === 0x10) n = b.readInt32LE(w);
        else if (t === 0x01) n = b.readDoubleLE(w);
        else if (t === 0x12) n = Number(b.readBigInt64LE(w));
        else return null;
        if (dom > 0 && dom < 32) {
          if (field === S) {
            if (dom === days.midnightDom) midnight = n;
          } else if (days.doms[dom]) {
            if (field === P) pending += n;
            else sec[field] += n;
          }
        }
        q = w + (t === 0x10 ? 4 : 8);
      }
      if (q !== subEnd) return null;
    }
    p = vEnd;
  }
  if (p !== end || id === undefined) return null;
  return { cameraId: cameraOfDocId(id), sec, pending, midnight };
}
