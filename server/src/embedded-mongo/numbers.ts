/**
 * BSON numbers as the store holds them in memory, and mongod's arithmetic over them.
 *
 * Decoded documents keep every numeric type recoverable, so a document re-encoded after an update (or a
 * projection) writes the types it was stored with:
 *   Int32 → JS number (an integer in int32 range), Int64 → bson Long, Double → JS number, except a Double
 *   whose value is an int32-range integer (3.0), which stays a bson `Double` (a JS number would encode as
 *   Int32), Decimal128 → Decimal128.
 * bson's `serialize` writes them back exactly: a JS number as Int32 when it is an int32-range integer and
 * as Double otherwise. (Int64 is a Long, not a bigint: mingo builds messages with JSON.stringify, which
 * throws on a bigint anywhere in a query.) A bigint is still read as an Int64 where one turns up.
 *
 * Arithmetic follows mongod: the result has the widest operand type (int < long < double < decimal), an
 * Int32 result that overflows becomes Int64, an Int64 one becomes Double.
 */
import { BSON, Decimal128, Double, Int32, Long } from 'bson';

export type NumKind = 'int' | 'long' | 'double' | 'decimal';

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function isInt32Value(n: number): boolean {
  return Number.isInteger(n) && n >= INT32_MIN && n <= INT32_MAX && !Object.is(n, -0);
}

const WRAPPED: Record<string, NumKind> = { Double: 'double', Int32: 'int', Long: 'long', Decimal128: 'decimal' };

export function numKind(v: unknown): NumKind | undefined {
  if (typeof v === 'number') return isInt32Value(v) ? 'int' : 'double';
  if (typeof v === 'bigint') return 'long';
  if (typeof v !== 'object' || v === null) return undefined;
  const t = (v as { _bsontype?: string })._bsontype;
  return t === undefined ? undefined : WRAPPED[t];
}

export function isNumeric(v: unknown): boolean {
  return numKind(v) !== undefined;
}

/** The value as a JS double (Int64 beyond 2^53 and Decimal128 rounded). */
export function asDouble(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  const t = (v as { _bsontype?: string })._bsontype;
  if (t === 'Double' || t === 'Int32') return (v as Double).value;
  if (t === 'Long') return (v as Long).toNumber();
  if (t === 'Decimal128') return Number((v as Decimal128).toString());
  return NaN;
}

/** An integer kind's exact value. */
export function asBigInt(v: unknown): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') return BigInt(v);
  const t = (v as { _bsontype?: string })._bsontype;
  if (t === 'Long') return (v as Long).toBigInt();
  return BigInt((v as Int32).value);
}

/** A Double result as the store holds it (see the module comment). */
export function makeDouble(x: number): number | Double {
  return isInt32Value(x) ? new Double(x) : x;
}

/** A value of `kind` holding `x` (a whole number for int/long). */
export function makeNumber(kind: NumKind, x: number | bigint): unknown {
  switch (kind) {
    case 'int':
      return Number(x);
    case 'long':
      return Long.fromBigInt(BigInt(x));
    case 'double':
      return makeDouble(Number(x));
    case 'decimal':
      return toDecimal(typeof x === 'bigint' ? x : x);
  }
}

// ---- decimals: value = c × 10^e, exactly -------------------------------------------------------------

type Dec = { k: 'nan' } | { k: 'inf'; neg: boolean } | { k: 'fin'; c: bigint; e: number; negZero?: boolean };

function parseDecimal(s: string): Dec {
  if (s === 'NaN' || s === '-NaN') return { k: 'nan' };
  if (s === 'Infinity' || s === '-Infinity') return { k: 'inf', neg: s.startsWith('-') };
  const m = /^(-)?(\d+)(?:\.(\d+))?(?:E([+-]?\d+))?$/i.exec(s);
  if (!m) return { k: 'nan' };
  const frac = m[3] ?? '';
  const c = BigInt(m[2] + frac) * (m[1] ? -1n : 1n);
  return { k: 'fin', c, e: Number(m[4] ?? 0) - frac.length, negZero: Boolean(m[1]) && c === 0n };
}

function decOf(v: unknown, doubleDigits = false): Dec {
  const kind = numKind(v);
  if (kind === 'decimal') return parseDecimal((v as Decimal128).toString());
  if (kind === 'int' || kind === 'long') return { k: 'fin', c: asBigInt(v), e: 0 };
  const x = asDouble(v);
  if (Number.isNaN(x)) return { k: 'nan' };
  if (!Number.isFinite(x)) return { k: 'inf', neg: x < 0 };
  // mongod converts a double operand of decimal arithmetic with 15 significant digits
  if (doubleDigits) return parseDecimal(x.toExponential(14).replace('e', 'E'));
  return exactDecimal(x);
}

/** The exact decimal value of a finite double (m × 2^p = m × 5^-p × 10^p). */
function exactDecimal(x: number): Dec {
  if (Number.isInteger(x)) return { k: 'fin', c: BigInt(x), e: 0 };
  let m = x;
  let p = 0;
  while (!Number.isInteger(m)) {
    m *= 2;
    p--;
  }
  return { k: 'fin', c: BigInt(m) * 5n ** BigInt(-p), e: p };
}

function formatDecimal(d: Dec): Decimal128 {
  if (d.k === 'nan') return Decimal128.fromString('NaN');
  if (d.k === 'inf') return Decimal128.fromString(d.neg ? '-Infinity' : 'Infinity');
  const neg = d.c < 0n || (d.c === 0n && d.negZero);
  const abs = d.c < 0n ? -d.c : d.c;
  return Decimal128.fromStringWithRounding(`${neg ? '-' : ''}${abs}E${d.e}`);
}

export function toDecimal(v: unknown): Decimal128 {
  if (numKind(v) === 'decimal') return v as Decimal128;
  return formatDecimal(decOf(v, true));
}

function scale(c: bigint, by: number): bigint {
  return by <= 0 ? c : c * 10n ** BigInt(by);
}

function compareDec(a: Dec, b: Dec): number {
  if (a.k === 'nan') return b.k === 'nan' ? 0 : -1;
  if (b.k === 'nan') return 1;
  if (a.k === 'inf') return b.k === 'inf' && a.neg === b.neg ? 0 : a.neg ? -1 : 1;
  if (b.k === 'inf') return b.neg ? 1 : -1;
  const e = Math.min(a.e, b.e);
  const x = scale(a.c, a.e - e);
  const y = scale(b.c, b.e - e);
  return x < y ? -1 : x > y ? 1 : 0;
}

function addDec(a: Dec, b: Dec, sign: 1n | -1n): Dec {
  if (a.k === 'nan' || b.k === 'nan') return { k: 'nan' };
  if (a.k === 'inf' || b.k === 'inf') {
    const bNeg = b.k === 'inf' ? (sign < 0n ? !b.neg : b.neg) : false;
    if (a.k === 'inf' && b.k === 'inf') return a.neg === bNeg ? a : { k: 'nan' };
    return a.k === 'inf' ? a : { k: 'inf', neg: bNeg };
  }
  const e = Math.min(a.e, b.e);
  return { k: 'fin', c: scale(a.c, a.e - e) + sign * scale(b.c, b.e - e), e };
}

function mulDec(a: Dec, b: Dec): Dec {
  if (a.k === 'nan' || b.k === 'nan') return { k: 'nan' };
  if (a.k === 'inf' || b.k === 'inf') {
    const zero = (a.k === 'fin' && a.c === 0n) || (b.k === 'fin' && b.c === 0n);
    if (zero) return { k: 'nan' };
    const negA = a.k === 'inf' ? a.neg : a.c < 0n;
    const negB = b.k === 'inf' ? b.neg : b.c < 0n;
    return { k: 'inf', neg: negA !== negB };
  }
  return { k: 'fin', c: a.c * b.c, e: a.e + b.e };
}

function divDec(a: Dec, b: Dec): Dec {
  if (a.k !== 'fin' || b.k !== 'fin') return decOf(asDoubleDec(a) / asDoubleDec(b));
  if (b.c === 0n) return a.c === 0n ? { k: 'nan' } : { k: 'inf', neg: a.c < 0n };
  // 34 significant digits, like Decimal128
  const shift = 40;
  const q = (a.c * 10n ** BigInt(shift)) / b.c;
  return { k: 'fin', c: q, e: a.e - b.e - shift };
}

function asDoubleDec(d: Dec): number {
  if (d.k === 'nan') return NaN;
  if (d.k === 'inf') return d.neg ? -Infinity : Infinity;
  return Number(`${d.c}e${d.e}`);
}

// ---- comparison ---------------------------------------------------------------------------------------

/** Numeric order across all numeric kinds, exact (NaN lowest, equal to itself). */
export function compareNumbers(a: unknown, b: unknown): number {
  const ka = numKind(a);
  const kb = numKind(b);
  if (ka === 'decimal' || kb === 'decimal') return compareDec(decOf(a), decOf(b));
  const x = ka === 'long' ? asBigInt(a) : asDouble(a);
  const y = kb === 'long' ? asBigInt(b) : asDouble(b);
  if (typeof x === 'number' && Number.isNaN(x)) return typeof y === 'number' && Number.isNaN(y) ? 0 : -1;
  if (typeof y === 'number' && Number.isNaN(y)) return 1;
  return x < y ? -1 : x > y ? 1 : 0;
}

// ---- arithmetic ---------------------------------------------------------------------------------------

const ORDER: Record<NumKind, number> = { int: 0, long: 1, double: 2, decimal: 3 };

function wider(a: NumKind, b: NumKind): NumKind {
  return ORDER[a] >= ORDER[b] ? a : b;
}

/** An exact integer result of `kind` int or long, promoted on overflow like mongod (int → long → double). */
function integerResult(kind: NumKind, r: bigint): unknown {
  if (kind === 'int' && r >= BigInt(INT32_MIN) && r <= BigInt(INT32_MAX)) return Number(r);
  if (r >= INT64_MIN && r <= INT64_MAX) return Long.fromBigInt(r);
  return makeDouble(Number(r));
}

export type ArithOp = 'add' | 'subtract' | 'multiply';

/** a op b for two numeric values (callers check isNumeric). */
export function arith(op: ArithOp, a: unknown, b: unknown): unknown {
  const kind = wider(numKind(a)!, numKind(b)!);
  if (kind === 'decimal') {
    const x = decOf(a, true);
    const y = decOf(b, true);
    return formatDecimal(op === 'multiply' ? mulDec(x, y) : addDec(x, y, op === 'add' ? 1n : -1n));
  }
  if (kind === 'double') {
    const x = asDouble(a);
    const y = asDouble(b);
    return makeDouble(op === 'add' ? x + y : op === 'subtract' ? x - y : x * y);
  }
  const x = asBigInt(a);
  const y = asBigInt(b);
  return integerResult(kind, op === 'add' ? x + y : op === 'subtract' ? x - y : x * y);
}

/** $divide: a double unless a decimal is involved. */
export function divide(a: unknown, b: unknown): unknown {
  if (numKind(a) === 'decimal' || numKind(b) === 'decimal') return formatDecimal(divDec(decOf(a, true), decOf(b, true)));
  return makeDouble(asDouble(a) / asDouble(b));
}

/** Running sum for $sum / $avg: non-numbers are ignored, types widen like mongod's. */
export class NumberSum {
  private kind: NumKind = 'int';
  private total: unknown = 0;
  count = 0;

  add(v: unknown): void {
    if (!isNumeric(v)) return;
    this.count++;
    const before = this.kind;
    this.total = arith('add', this.total, v);
    this.kind = wider(before, numKind(v)!);
    // an Int64 sum that overflowed became a double; keep summing as double
    const k = numKind(this.total)!;
    if (ORDER[k] > ORDER[this.kind]) this.kind = k;
  }

  get sum(): unknown {
    return this.total;
  }

  /** $avg: a double (a decimal when a decimal was summed), null without numbers. */
  get average(): unknown {
    if (this.count === 0) return null;
    if (this.kind === 'decimal') return divide(this.total, this.count);
    return makeDouble(asDouble(this.total) / this.count);
  }
}

// ---- decoding -----------------------------------------------------------------------------------------

const typedOptions = { promoteLongs: false, promoteValues: true, promoteBuffers: false, bsonRegExp: false } as const;
const unpromotedOptions = { promoteLongs: false, promoteValues: false, promoteBuffers: false, bsonRegExp: false } as const;

/**
 * Whether the BSON document holds a Double whose value is an int32-range integer anywhere (such documents
 * are decoded on a slower path that keeps those Doubles). Walks the elements without allocating.
 */
export function hasIntegralDouble(b: Uint8Array, start = 0): boolean {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const end = start + view.getInt32(start, true) - 1;
  let p = start + 4;
  while (p < end) {
    const type = b[p];
    p++;
    while (b[p] !== 0) p++;
    p++;
    switch (type) {
      case 0x01: {
        const x = view.getFloat64(p, true);
        if (isInt32Value(x)) return true;
        p += 8;
        break;
      }
      case 0x09: case 0x11: case 0x12:
        p += 8;
        break;
      case 0x02: case 0x0d: case 0x0e:
        p += 4 + view.getInt32(p, true);
        break;
      case 0x03: case 0x04:
        if (hasIntegralDouble(b, p)) return true;
        p += view.getInt32(p, true);
        break;
      case 0x0f:
        p += view.getInt32(p, true);
        break;
      case 0x05:
        p += 5 + view.getInt32(p, true);
        break;
      case 0x07:
        p += 12;
        break;
      case 0x08:
        p += 1;
        break;
      case 0x10:
        p += 4;
        break;
      case 0x13:
        p += 16;
        break;
      case 0x06: case 0x0a: case 0xff: case 0x7f:
        break;
      case 0x0b:
        while (b[p] !== 0) p++;
        p++;
        while (b[p] !== 0) p++;
        p++;
        break;
      case 0x0c:
        p += 4 + view.getInt32(p, true) + 12;
        break;
      default:
        return true; // unknown: let the careful path decide
    }
  }
  return false;
}

/** Int32 → number, non-integral Double → number; integral Doubles stay Double, Longs stay Long. */
function settle(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = settle(v[i]);
    return v;
  }
  const t = (v as { _bsontype?: string })._bsontype;
  if (t === 'Int32') return (v as Int32).value;
  if (t === 'Double') return makeDouble((v as Double).value);
  if (t === undefined && (v).constructor === Object) {
    for (const k of Object.keys(v)) (v as Record<string, unknown>)[k] = settle((v as Record<string, unknown>)[k]);
  }
  return v;
}

/** Decodes a BSON document into the store's typed representation (see the module comment). */
export function decodeTyped<T = Record<string, unknown>>(buf: Uint8Array, extra?: Record<string, unknown>): T {
  if (!hasIntegralDouble(buf)) return BSON.deserialize(buf, extra ? { ...typedOptions, ...extra } : typedOptions) as T;
  return settle(BSON.deserialize(buf, extra ? { ...unpromotedOptions, ...extra } : unpromotedOptions)) as T;
}


