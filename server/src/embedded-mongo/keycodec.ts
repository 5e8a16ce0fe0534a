/**
 * Order-preserving string encoding of BSON values: for any a, b, compareValues(a, b) and the native
 * comparison of encode(a) and encode(b) agree, and no encoding is a prefix of another (so compound keys
 * are plain concatenations). Index trees compare keys with `<` on strings, which is several times faster
 * than comparing BSON values.
 *
 * Every encoding is a one-byte string (all chars ≤ 0xff): V8 compares one-byte strings about three times
 * faster than two-byte ones, and one CJK character anywhere (a search token, a name) used to make the
 * whole key two-byte. Index insertion is mostly string comparisons, so this is most of a bulk insert.
 */
import { codePointRank, toNumber, TypeBound, typeRank, type Doc } from './compare';
import { asBigInt, numKind } from './numbers';

/** The largest char of any encoding (complement() and successor() work in 0..MAX_CHAR). */
const MAX_CHAR = 0xff;

function rankChar(rank: number): string {
  return String.fromCharCode(0x10 + Math.round(rank * 2));
}

const STRING_HEAD = rankChar(3);

/** ASCII without \u0000 and \u0001: such a string encodes as itself plus the terminator. */
function plain(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const u = s.charCodeAt(i);
    if (u < 2 || u >= 0x80) return false;
  }
  return true;
}

/**
 * UTF-16 code units in code point order (codePointRank: mongod compares UTF-8 bytes), as a prefix code over one-byte chars: \u0000 ends the string, 0 and 1 are
 * escaped (\u0001\u0001, \u0001\u0002), 2..0x7f stand for themselves, and a unit ≥ 0x80 is three chars
 * (0x80 + its top 7 bits, the next 8 bits, the last bit), which sort above every ASCII char.
 */
function escapeString(s: string): string {
  if (plain(s)) return s + '\u0000';
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const u = c >= 0xd800 ? codePointRank(c) : c;
    if (u >= 0x80) out += String.fromCharCode(0x80 + (u >> 9), (u >> 1) & 0xff, u & 1);
    else if (u > 1) out += s[i];
    else out += u === 0 ? '\u0001\u0001' : '\u0001\u0002';
  }
  return out + '\u0000';
}

/**
 * Encodings of short strings, reused: search tokens (one or two CJK characters, ~30 per camera point)
 * are a few thousand distinct values repeated in every document, and encoding a CJK character is a
 * loop with three char codes. Bounded: cleared when full.
 */
const shortStrings = new Map<string, string>();
const SHORT = 4;
const MAX_SHORT_STRINGS = 50_000;

function encodeString(s: string): string {
  if (s.length > SHORT) return STRING_HEAD + escapeString(s);
  let e = shortStrings.get(s);
  if (e === undefined) {
    if (shortStrings.size >= MAX_SHORT_STRINGS) shortStrings.clear();
    e = STRING_HEAD + escapeString(s);
    shortStrings.set(s, e);
  }
  return e;
}

const f64 = new Float64Array(1);
const u16 = new Uint16Array(f64.buffer);

/** 8 chars, big-endian bytes of the sign-flipped IEEE 754 double: string order = numeric order; NaN first. */
function encodeNumber(n: number): string {
  if (Number.isNaN(n)) return '\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000';
  f64[0] = n === 0 ? 0 : n;
  // little-endian host: u16[3] holds the sign and exponent
  const neg = (u16[3] & 0x8000) !== 0;
  const a = neg ? ~u16[3] & 0xffff : u16[3] | 0x8000;
  const b = neg ? ~u16[2] & 0xffff : u16[2];
  const c = neg ? ~u16[1] & 0xffff : u16[1];
  const d = neg ? ~u16[0] & 0xffff : u16[0];
  return String.fromCharCode(a >> 8, a & 0xff, b >> 8, b & 0xff, c >> 8, c & 0xff, d >> 8, d & 0xff);
}

const EXACT = '\u0080';

/**
 * A number's double (8 chars) then a char placing it among values with that same double: an Int64 beyond
 * 2^53 that rounds to it sits below or above it by its remainder (|r| ≤ 1024 < 2^16, two chars), so
 * neighbouring Int64s get distinct keys in order. A Decimal128 is placed by its double only (see query.ts:
 * equality on a decimal is never answered from keys alone).
 */
function encodeNumeric(v: unknown): string {
  if (typeof v === 'number') return encodeNumber(v) + EXACT;
  if (numKind(v) !== 'long') return encodeNumber(toNumber(v)) + EXACT;
  const b = asBigInt(v);
  const d = Number(b);
  const r = Number(b - BigInt(d));
  if (r === 0) return encodeNumber(d) + EXACT;
  const m = Math.abs(r);
  return r < 0
    ? encodeNumber(d) + '\u0040' + String.fromCharCode(0xff - (m >> 8), 0xff - (m & 0xff))
    : encodeNumber(d) + '\u00c0' + String.fromCharCode(m >> 8, m & 0xff);
}

function hex(n: number, width: number): string {
  return (n >>> 0).toString(16).padStart(width, '0');
}

export function encodeValue(v: unknown): string {
  const rank = typeRank(v);
  const head = rankChar(rank);
  switch (rank) {
    case 2:
      return head + encodeNumeric(v);
    case 3:
      return typeof v === 'string' ? encodeString(v) : head + escapeString(String(v));
    case 4: {
      let out = head;
      for (const [k, x] of Object.entries(v as Doc)) out += rankChar(typeRank(x)) + escapeString(k) + encodeValue(x);
      return out + '\u0000';
    }
    case 5: {
      let out = head;
      for (const x of v as unknown[]) out += encodeValue(x);
      return out + '\u0000';
    }
    case 6: {
      const b = v as { buffer: Uint8Array; sub_type: number };
      return head + hex(b.buffer.length, 8) + hex(b.sub_type, 2) + Buffer.from(b.buffer).toString('hex');
    }
    case 7:
      return head + (v as { toHexString(): string }).toHexString();
    case 8:
      return head + (v ? '1' : '0');
    case 9:
      return head + encodeNumber((v as Date).getTime());
    case 10: {
      const t = v as { high: number; low: number };
      return head + hex(t.high, 8) + hex(t.low, 8);
    }
    case 11: {
      const r = v as { source?: string; pattern?: string; flags?: string; options?: string };
      return head + escapeString(r.source ?? r.pattern ?? '') + escapeString(r.flags ?? r.options ?? '');
    }
    case 0:
    case 1:
    case 12:
      return head;
    default:
      return head + escapeString(String(v));
  }
}

/** Every value of the bound's type starts with this prefix (used with prefix-inclusive bounds). */
export function encodeTypeBound(b: TypeBound): string {
  return rankChar(b.rank);
}

export function complement(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) out += String.fromCharCode(MAX_CHAR - s.charCodeAt(i));
  return out;
}

export function encodeField(v: unknown, dir: number): string {
  const e = v instanceof TypeBound ? encodeTypeBound(v) : encodeValue(v);
  return dir < 0 ? complement(e) : e;
}

/** The smallest string greater than every string starting with `s`; undefined when there is none. */
export function successor(s: string): string | undefined {
  let end = s.length;
  while (end > 0 && s.charCodeAt(end - 1) >= MAX_CHAR) end--;
  if (end === 0) return undefined;
  return s.slice(0, end - 1) + String.fromCharCode(s.charCodeAt(end - 1) + 1);
}
