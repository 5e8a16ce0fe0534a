/**
 * Order-preserving string encoding of BSON values: for any a, b, compareValues(a, b) and the native
 * comparison of encode(a) and encode(b) agree, and no encoding is a prefix of another (so compound keys
 * are plain concatenations). Index trees compare keys with `<` on strings, which is several times faster
 * than comparing BSON values.
 */
import { toNumber, TypeBound, typeRank, type Doc } from './compare';

function rankChar(rank: number): string {
  return String.fromCharCode(0x10 + Math.round(rank * 2));
}

function escapeString(s: string): string {
  if (s.indexOf('\u0000') < 0 && s.indexOf('\u0001') < 0) return s + '\u0000';
  let out = '';
  for (const c of s) out += c === '\u0000' ? '\u0001\u0001' : c === '\u0001' ? '\u0001\u0002' : c;
  return out + '\u0000';
}

const f64 = new Float64Array(1);
const u16 = new Uint16Array(f64.buffer);

/** 4 chars, big-endian, sign-flipped IEEE 754: native string order = numeric order; NaN first. */
function encodeNumber(n: number): string {
  if (Number.isNaN(n)) return '\u0000\u0000\u0000\u0000';
  f64[0] = n === 0 ? 0 : n;
  // little-endian host: u16[3] holds the sign and exponent
  if (u16[3] & 0x8000) {
    return String.fromCharCode(~u16[3] & 0xffff, ~u16[2] & 0xffff, ~u16[1] & 0xffff, ~u16[0] & 0xffff);
  }
  return String.fromCharCode(u16[3] | 0x8000, u16[2], u16[1], u16[0]);
}

function hex(n: number, width: number): string {
  return (n >>> 0).toString(16).padStart(width, '0');
}

export function encodeValue(v: unknown): string {
  const rank = typeRank(v);
  const head = rankChar(rank);
  switch (rank) {
    case 2:
      return head + encodeNumber(typeof v === 'number' ? v : toNumber(v));
    case 3:
      return head + escapeString(typeof v === 'string' ? v : String(v));
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
  for (let i = 0; i < s.length; i++) out += String.fromCharCode(0xffff - s.charCodeAt(i));
  return out;
}

export function encodeField(v: unknown, dir: number): string {
  const e = v instanceof TypeBound ? encodeTypeBound(v) : encodeValue(v);
  return dir < 0 ? complement(e) : e;
}

/** The smallest string greater than every string starting with `s`; undefined when there is none. */
export function successor(s: string): string | undefined {
  let end = s.length;
  while (end > 0 && s.charCodeAt(end - 1) === 0xffff) end--;
  if (end === 0) return undefined;
  return s.slice(0, end - 1) + String.fromCharCode(s.charCodeAt(end - 1) + 1);
}
