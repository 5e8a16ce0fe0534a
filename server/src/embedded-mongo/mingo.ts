/**
 * mingo with MongoDB's number and comparison semantics. mingo knows only JS numbers: an Int64 (Long), a
 * Double 3.0 (bson Double) or a Decimal128 is not a number to it, and it orders values across types its
 * own way. Every mingo use in the store goes through this module, whose context replaces the operators
 * that compare or compute numbers (query comparisons and $type, arithmetic, comparison expressions, $sum
 * $avg $min $max) with ones built on compare.ts and numbers.ts; the other operators are mingo's.
 */
import { Aggregator as MingoAggregator } from 'mingo/aggregator';
import { Context, evalExpr, ProcessingMode } from 'mingo/core';
import * as accumulatorOps from 'mingo/operators/accumulator';
import * as expressionOps from 'mingo/operators/expression';
import * as pipelineOps from 'mingo/operators/pipeline';
import * as projectionOps from 'mingo/operators/projection';
import * as queryOps from 'mingo/operators/query';
import * as windowOps from 'mingo/operators/window';
import { Query as MingoQuery } from 'mingo/query';
import { update as mingoUpdate, updateOne as mingoUpdateOne } from 'mingo/updater';
import { Lazy as lazy } from 'mingo/lazy';
import { flatten, resolve } from 'mingo/util';
import { EJSON } from 'bson';
import { compareValues, parseSort, sortDocs, typeRank, type Doc } from './compare';
import { CommandError } from './errors';
import { arith, asBigInt, asDouble, divide, isNumeric, makeNumber, NumberSum, numKind, toDecimal } from './numbers';

export { ProcessingMode };

/** mongod's `$type` name of a value (undefined for a missing one). */
export function bsonTypeName(v: unknown): string {
  if (v === undefined) return 'missing';
  if (v === null) return 'null';
  const kind = numKind(v);
  if (kind) return kind;
  if (Array.isArray(v)) return 'array';
  if (v instanceof Date) return 'date';
  if (v instanceof RegExp) return 'regex';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v !== 'object') return 'object';
  switch ((v as { _bsontype?: string })._bsontype) {
    case undefined:
      return 'object';
    case 'ObjectId':
      return 'objectId';
    case 'Binary':
      return 'binData';
    case 'Timestamp':
      return 'timestamp';
    case 'BSONRegExp':
      return 'regex';
    case 'Code':
      return 'javascript';
    case 'BSONSymbol':
      return 'symbol';
    case 'MinKey':
      return 'minKey';
    case 'MaxKey':
      return 'maxKey';
    default:
      return 'object';
  }
}

/** `$type` codes and aliases (https://www.mongodb.com/docs/manual/reference/operator/query/type/). */
const TYPE_CODES: Record<number, string> = {
  1: 'double', 2: 'string', 3: 'object', 4: 'array', 5: 'binData', 6: 'undefined', 7: 'objectId', 8: 'bool', 9: 'date',
  10: 'null', 11: 'regex', 12: 'dbPointer', 13: 'javascript', 14: 'symbol', 16: 'int', 17: 'timestamp', 18: 'long',
  19: 'decimal', [-1]: 'minKey', 127: 'maxKey',
};
const TYPE_ALIASES = new Set([...Object.values(TYPE_CODES), 'number']);

function typeAlias(t: unknown): string {
  if (typeof t === 'string') {
    if (!TYPE_ALIASES.has(t)) throw new CommandError(2, 'BadValue', `Unknown type name alias: ${t}`);
    return t;
  }
  if (isNumeric(t)) {
    const n = asDouble(t);
    const name = TYPE_CODES[n];
    if (!name) throw new CommandError(2, 'BadValue', `Invalid numerical type code: ${n}`);
    return name;
  }
  throw new CommandError(14, 'TypeMismatch', 'type must be represented as a number or a string');
}

/** Whether `v` is of `$type` `alias` (arrays are matched by their elements elsewhere: query.ts). */
export function hasType(v: unknown, alias: string): boolean {
  if (v === undefined) return false;
  if (alias === 'number') return isNumeric(v);
  return bsonTypeName(v) === alias;
}

/** Equality in the query language: numbers by value across types, documents field by field in order. */
function bsonEquals(a: unknown, b: unknown): boolean {
  return typeRank(a) === typeRank(b) && compareValues(a, b) === 0;
}

/** A field's value and, when it is an array, its elements: the values a query condition may match. */
function candidates(a: unknown, depth: number): unknown[] {
  if (!Array.isArray(a)) return [a];
  const elements = a as unknown[];
  return [a, ...elements, ...(depth > 0 ? (flatten(elements, depth)) : [])];
}

type Predicate = (lhs: unknown, rhs: unknown, depth: number) => boolean;

function queryOperator(pred: Predicate, prepare: (rhs: unknown) => unknown = (x) => x) {
  return (selector: string, value: unknown) => {
    let depth = 0;
    for (let i = selector.indexOf('.'); i !== -1; i = selector.indexOf('.', i + 1)) depth++;
    const rhs = prepare(value);
    return (o: unknown) => pred(resolve(o as Doc, selector, { unwrapArray: true }), rhs, depth);
  };
}

const eq: Predicate = (a, b, depth) => {
  if (bsonEquals(a, b)) return true;
  if (b === null && a === undefined) return true;
  return Array.isArray(a) && candidates(a, depth).some((x) => bsonEquals(x, b));
};

const inList: Predicate = (a, b, depth) => {
  const list = b as unknown[];
  return candidates(a, depth).some((x) => list.some((r) => (r instanceof RegExp ? typeof x === 'string' && r.test(x) : bsonEquals(x, r) || (r === null && x === undefined))));
};

function ordered(test: (c: number) => boolean): Predicate {
  return (a, b, depth) => candidates(a, depth).some((x) => typeRank(x) === typeRank(b) && test(compareValues(x, b)));
}

function requireArray(op: string) {
  return (v: unknown): unknown => {
    if (!Array.isArray(v)) throw new CommandError(2, 'BadValue', `${op} needs an array`);
    return v;
  };
}

const mod: Predicate = (a, b, depth) => {
  const [d, r] = b as [unknown, unknown];
  const divisor = BigInt(Math.trunc(asDouble(d)));
  const rem = BigInt(Math.trunc(asDouble(r)));
  return candidates(a, depth).some((x) => {
    if (!isNumeric(x)) return false;
    const n = numKind(x) === 'long' ? asBigInt(x) : BigInt(Math.trunc(asDouble(x)));
    return Number.isFinite(asDouble(x)) && n % divisor === rem;
  });
};

const bsonQueryOps = {
  $eq: queryOperator(eq),
  $ne: queryOperator((a, b, d) => !eq(a, b, d)),
  $gt: queryOperator(ordered((c) => c > 0)),
  $gte: queryOperator(ordered((c) => c >= 0)),
  $lt: queryOperator(ordered((c) => c < 0)),
  $lte: queryOperator(ordered((c) => c <= 0)),
  $in: queryOperator(inList, requireArray('$in')),
  $nin: queryOperator((a, b, d) => !inList(a, b, d), requireArray('$nin')),
  $type: queryOperator(
    (a, b) => (b as string[]).some((t) => hasType(a, t)),
    (v) => (Array.isArray(v) ? v : [v]).map(typeAlias),
  ),
  $mod: queryOperator(mod, (v) => {
    if (!Array.isArray(v) || v.length !== 2 || !v.every(isNumeric)) throw new CommandError(2, 'BadValue', 'malformed mod, needs to be an array');
    const pairOf = v as unknown[];
    if (BigInt(Math.trunc(asDouble(pairOf[0]))) === 0n) throw new CommandError(2, 'BadValue', 'divisor cannot be 0');
    return pairOf;
  }),
};

// ---- aggregation expressions -----------------------------------------------------------------------------

type Options = Parameters<typeof evalExpr>[2];

function args(obj: unknown, expr: unknown, options: Options): unknown[] {
  const v = evalExpr(obj, expr, options);
  return Array.isArray(v) ? v : [v];
}

function typeError(code: number, msg: string): CommandError {
  return new CommandError(code, `Location${code}`, msg);
}

function $add(obj: unknown, expr: unknown, options: Options): unknown {
  const xs = args(obj, expr, options);
  let date: Date | undefined;
  let total: unknown = 0;
  for (const x of xs) {
    if (x === null || x === undefined) return null;
    if (x instanceof Date) {
      if (date) throw typeError(16612, 'only one date allowed in an $add expression');
      date = x;
    } else if (isNumeric(x)) total = arith('add', total, x);
    else throw typeError(16554, `$add only supports numeric or date types, not ${bsonTypeName(x)}`);
  }
  return date ? new Date(date.getTime() + Math.round(asDouble(total))) : total;
}

function $multiply(obj: unknown, expr: unknown, options: Options): unknown {
  let total: unknown = 1;
  for (const x of args(obj, expr, options)) {
    if (x === null || x === undefined) return null;
    if (!isNumeric(x)) throw typeError(16555, `$multiply only supports numeric types, not ${bsonTypeName(x)}`);
    total = arith('multiply', total, x);
  }
  return total;
}

function pair(op: string, obj: unknown, expr: unknown, options: Options): [unknown, unknown] {
  const xs = args(obj, expr, options);
  if (xs.length !== 2) throw typeError(16020, `Expression ${op} takes exactly 2 arguments. ${xs.length} were passed in.`);
  return [xs[0], xs[1]];
}

function $subtract(obj: unknown, expr: unknown, options: Options): unknown {
  const [a, b] = pair('$subtract', obj, expr, options);
  if (a === null || a === undefined || b === null || b === undefined) return null;
  if (a instanceof Date && b instanceof Date) return makeNumber('long', a.getTime() - b.getTime());
  if (a instanceof Date && isNumeric(b)) return new Date(a.getTime() - Math.round(asDouble(b)));
  if (isNumeric(a) && isNumeric(b)) return arith('subtract', a, b);
  throw typeError(16556, `cant $subtract a ${bsonTypeName(b)} from a ${bsonTypeName(a)}`);
}

function $divide(obj: unknown, expr: unknown, options: Options): unknown {
  const [a, b] = pair('$divide', obj, expr, options);
  if (a === null || a === undefined || b === null || b === undefined) return null;
  if (!isNumeric(a) || !isNumeric(b)) throw typeError(16609, `$divide only supports numeric types, not ${bsonTypeName(a)} and ${bsonTypeName(b)}`);
  if (numKind(b) !== 'decimal' && asDouble(b) === 0) throw new CommandError(2, 'BadValue', "can't $divide by zero");
  return divide(a, b);
}

function $abs(obj: unknown, expr: unknown, options: Options): unknown {
  const [x] = args(obj, expr, options);
  if (x === null || x === undefined) return null;
  if (!isNumeric(x)) throw typeError(28765, `$abs only supports numeric types, not ${bsonTypeName(x)}`);
  return compareValues(x, 0) < 0 ? arith('multiply', x, -1) : x;
}

/** Aggregation comparison: BSON order, a missing value below null. */
function aggCompare(a: unknown, b: unknown): number {
  if ((a === undefined) !== (b === undefined)) return a === undefined ? -1 : 1;
  return compareValues(a, b);
}

function comparison(op: string, test: (c: number) => boolean) {
  return (obj: unknown, expr: unknown, options: Options): boolean => {
    const [a, b] = pair(op, obj, expr, options);
    return test(aggCompare(a, b));
  };
}

function $cmp(obj: unknown, expr: unknown, options: Options): number {
  const [a, b] = pair('$cmp', obj, expr, options);
  return Math.sign(aggCompare(a, b));
}

function $type(obj: unknown, expr: unknown, options: Options): string {
  return bsonTypeName(evalExpr(obj, Array.isArray(expr) ? expr[0] : expr, options));
}

function $isNumber(obj: unknown, expr: unknown, options: Options): boolean {
  return isNumeric(evalExpr(obj, Array.isArray(expr) ? expr[0] : expr, options));
}

function converter(name: string, to: (x: unknown) => unknown) {
  return (obj: unknown, expr: unknown, options: Options): unknown => {
    const x = evalExpr(obj, Array.isArray(expr) ? expr[0] : expr, options);
    if (x === null || x === undefined) return null;
    if (typeof x === 'boolean') return to(x ? 1 : 0);
    if (x instanceof Date) return to(makeNumber('long', x.getTime()));
    if (typeof x === 'string') {
      const n = Number(x);
      if (x.trim() === '' || Number.isNaN(n)) throw new CommandError(241, 'ConversionFailure', `Failed to parse number '${x}' in $convert with no onError value`);
      return to(/^-?\d+$/.test(x.trim()) ? makeNumber('long', BigInt(x.trim())) : n);
    }
    if (!isNumeric(x)) throw new CommandError(241, 'ConversionFailure', `Unsupported conversion from ${bsonTypeName(x)} to ${name} in $convert with no onError value`);
    return to(x);
  };
}

function integral(kind: 'int' | 'long') {
  return (x: unknown): unknown => {
    const whole = typeof x === 'bigint' ? x : numKind(x) === 'long' ? asBigInt(x) : BigInt(Math.trunc(asDouble(x)));
    return makeNumber(kind, whole);
  };
}

const bsonExpressionOps = {
  $add,
  $subtract,
  $multiply,
  $divide,
  $abs,
  $eq: comparison('$eq', (c) => c === 0),
  $ne: comparison('$ne', (c) => c !== 0),
  $gt: comparison('$gt', (c) => c > 0),
  $gte: comparison('$gte', (c) => c >= 0),
  $lt: comparison('$lt', (c) => c < 0),
  $lte: comparison('$lte', (c) => c <= 0),
  $cmp,
  $type,
  $vigilGroupKey: (obj: unknown, expr: unknown, options: Options): unknown => {
    const [idExpr, firstIds] = expr as [unknown, FirstIds];
    const id = evalExpr(obj, idExpr, options);
    const key = groupKey(id);
    const hash = EJSON.stringify(key);
    if (!firstIds.has(hash)) firstIds.set(hash, id);
    return key;
  },
  $isNumber,
  $toInt: converter('int', integral('int')),
  $toLong: converter('long', integral('long')),
  $toDouble: converter('double', (x) => makeNumber('double', asDouble(x))),
  $toDecimal: converter('decimal', toDecimal),
};

// ---- accumulators -------------------------------------------------------------------------------------------

function values(coll: unknown[], expr: unknown, options: Options): unknown[] {
  return expr === null ? coll : (accumulatorOps.$push(coll, expr, options));
}

const bsonAccumulatorOps = {
  $sum: (coll: unknown[], expr: unknown, options: Options): unknown => {
    const s = new NumberSum();
    if (isNumeric(expr)) for (let i = 0; i < coll.length; i++) s.add(expr);
    else for (const v of values(coll, expr, options)) s.add(v);
    return s.sum;
  },
  $avg: (coll: unknown[], expr: unknown, options: Options): unknown => {
    const s = new NumberSum();
    for (const v of values(coll, expr, options)) s.add(v);
    return s.average;
  },
  $min: (coll: unknown[], expr: unknown, options: Options): unknown => pick(values(coll, expr, options), (c) => c < 0),
  $max: (coll: unknown[], expr: unknown, options: Options): unknown => pick(values(coll, expr, options), (c) => c > 0),
};

function pick(xs: unknown[], better: (c: number) => boolean): unknown {
  let best: unknown = null;
  for (const x of xs) {
    if (x === null || x === undefined) continue;
    if (best === null || better(compareValues(x, best))) best = x;
  }
  return best;
}

interface Lazy {
  map(f: (d: Doc) => Doc): Lazy;
  transform(f: (docs: unknown[]) => Lazy): Lazy;
}
type Stage = (coll: Lazy, expr: unknown, options: Options) => Lazy;

/**
 * `$project` with mongod's field order: `_id` first, then the input's fields in their order, then new
 * fields in the order of the specification (mingo's puts them alphabetically, `_id` last).
 */
const $project: Stage = (coll, expr, options) => {
  let input: Doc = {};
  const tapped = coll.map((d) => (input = d));
  return (pipelineOps.$project as unknown as Stage)(tapped, expr, options).map((out) => {
    const ordered: Doc = {};
    if ('_id' in out) ordered._id = out._id;
    for (const k of Object.keys(input)) if (k in out && !(k in ordered)) ordered[k] = out[k];
    for (const k of Object.keys(out)) if (!(k in ordered)) ordered[k] = out[k];
    return ordered;
  });
};

/** A group key with equal numbers made one value (mongod groups Int32 3, Int64 3 and Double 3.0 together). */
function groupKey(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(groupKey);
  const kind = numKind(v);
  if (kind === 'double' || kind === 'int') return asDouble(v);
  if (kind === 'long') {
    const x = asDouble(v);
    return Number.isSafeInteger(x) ? x : v;
  }
  if (v !== null && typeof v === 'object' && (v).constructor === Object) {
    const out: Doc = {};
    for (const [k, x] of Object.entries(v as Doc)) out[k] = groupKey(x);
    return out;
  }
  return v;
}

/**
 * `$sort` after the leading stages (those use indexes in query.ts) with MongoDB's order: numbers of every BSON
 * type by value, arrays by their smallest (ascending) or largest (descending) element. mingo's own compares
 * Long and Decimal128 objects as other objects.
 */
const $sort: Stage = (coll, expr) => {
  const sort = parseSort(expr);
  return coll.transform((docs) => {
    sortDocs(docs as Doc[], sort);
    return lazy(docs);
  });
};

/** Per `$group` run: each group's key (EJSON of the unified value) → the `_id` value of its first document. */
class FirstIds extends Map<string, unknown> {}

/** Groups equal numbers together and, as mongod does, gives each group the `_id` of its first document (type included). */
const $group: Stage = (coll, expr, options) => {
  const spec = expr as Doc;
  const firstIds = new FirstIds();
  return (pipelineOps.$group as unknown as Stage)(coll, { ...spec, _id: { $vigilGroupKey: [spec._id, firstIds] } }, options).map((out) => {
    const first = firstIds.get(EJSON.stringify(out._id));
    return first === undefined || first === out._id ? out : { ...out, _id: first };
  });
};

const CONTEXT = Context.init({
  accumulator: { ...accumulatorOps, ...bsonAccumulatorOps },
  expression: { ...expressionOps, ...bsonExpressionOps },
  pipeline: { ...pipelineOps, $project, $group, $sort },
  projection: projectionOps,
  query: { ...queryOps, ...bsonQueryOps },
  window: windowOps,
} as never);

type QueryOptions = ConstructorParameters<typeof MingoQuery>[1];
type AggregatorOptions = ConstructorParameters<typeof MingoAggregator>[1];

export class Query extends MingoQuery<Doc> {
  constructor(condition: Doc, options: QueryOptions = {}) {
    super(condition, { ...options, context: CONTEXT });
  }
}

export class Aggregator extends MingoAggregator {
  constructor(pipeline: Doc[], options: AggregatorOptions = {}) {
    super(pipeline, { ...options, context: CONTEXT });
  }
}

export type { AggregatorOptions };

/** mingo's update of one document in place (see update.ts), with this module's operators. */
export function updateDoc(doc: Doc, modifier: Doc, arrayFilters: Doc[] | undefined, condition: Doc | undefined): void {
  mingoUpdate(doc, modifier as never, arrayFilters, condition as never, { cloneMode: 'copy', queryOptions: { context: CONTEXT } });
}

/** A pipeline-style update of one document. */
export function updateWithPipeline(docs: Doc[], pipeline: Doc[]): void {
  mingoUpdateOne(docs, {}, pipeline as never, { cloneMode: 'copy' }, { context: CONTEXT });
}
