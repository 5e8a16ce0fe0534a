/**
 * Query planning and execution. Matching semantics come from mingo; this module only narrows the candidate
 * documents through an index (equality, $in and range on indexed fields, the _id map for _id lookups) and
 * walks an index in order to answer a sort without sorting. The full filter is always applied afterwards, so
 * an index only ever restricts candidates to a superset of the answer.
 */
import { Query } from './mingo';
import type { Collection } from './collection';
import { idKey } from './collection';
import { compareValues, pathValues, sortKey, sortOrder, typeRank, TypeBound, type Doc, type SortSpec } from './compare';
import { CommandError } from './errors';
import { isPoint, type Index, type Interval } from './indexes';
import { encodeValue } from './keycodec';

export type Matcher = (doc: Doc) => boolean;

export function compileFilter(filter: unknown): Matcher {
  if (filter === undefined || filter === null) return () => true;
  if (typeof filter !== 'object' || Array.isArray(filter)) throw new CommandError(14, 'TypeMismatch', 'filter must be an object');
  if (Object.keys(filter).length === 0) return () => true;
  const fast = fastMatcher(filter as Doc);
  if (fast) return fast;
  try {
    const q = new Query(rewriteTypeOperators(filter as Doc), {});
    return (d) => q.test(d);
  } catch (err) {
    throw new CommandError(2, 'BadValue', (err as Error).message);
  }
}

function hasTypeOperator(v: unknown): boolean {
  if (Array.isArray(v)) return v.some(hasTypeOperator);
  if (!isPlainObject(v)) return false;
  return Object.entries(v).some(([k, x]) => k === '$type' || hasTypeOperator(x));
}

/**
 * mingo's $type tests only the field's value; MongoDB also matches when an array element has the type
 * ("Querying by Array Type"). `{ f: { $type: T, ...rest } }` becomes
 * `{ $and: [{ f: rest }, { $or: [{ f: { $type: T } }, { f: { $elemMatch: { $type: T } } }] }] }`.
 */
export function rewriteTypeOperators(filter: Doc): Doc {
  if (!hasTypeOperator(filter)) return filter;
  const out: Doc = {};
  const extra: Doc[] = [];
  for (const [k, v] of Object.entries(filter)) {
    if ((k === '$and' || k === '$or' || k === '$nor') && Array.isArray(v)) {
      out[k] = v.map((sub: unknown) => (isPlainObject(sub) ? rewriteTypeOperators(sub) : sub));
    } else if (!k.startsWith('$') && isPlainObject(v) && '$type' in v) {
      const { $type: t, ...rest } = v;
      if (Object.keys(rest).length) out[k] = rest;
      extra.push({ $or: [{ [k]: { $type: t } }, { [k]: { $elemMatch: { $type: t } } }] });
    } else {
      out[k] = v;
    }
  }
  if (!extra.length) return out;
  return { $and: [out, ...extra] };
}

/** Scalars whose equality and ordering compareValues decides exactly like the query language. */
function simpleScalar(v: unknown): boolean {
  const t = typeof v;
  if (t === 'string' || t === 'boolean' || t === 'bigint') return true;
  if (t === 'number') return !Number.isNaN(v);
  if (t !== 'object' || v === null) return false;
  return v instanceof Date || ['ObjectId', 'Long', 'Int32', 'Double', 'Decimal128'].includes((v as { _bsontype?: string })._bsontype ?? '');
}

type FieldTest = (values: unknown[]) => boolean;

function fieldTest(cond: unknown): FieldTest | undefined {
  if (simpleScalar(cond)) return (vs) => vs.some((v) => v !== undefined && typeRank(v) === typeRank(cond) && compareValues(v, cond) === 0);
  if (!isPlainObject(cond)) return undefined;
  const tests: FieldTest[] = [];
  for (const [op, arg] of Object.entries(cond)) {
    switch (op) {
      case '$eq': {
        const t = fieldTest(arg);
        if (!t || !simpleScalar(arg)) return undefined;
        tests.push(t);
        break;
      }
      case '$in': {
        // index keys place a Decimal128 by its double only (keycodec.ts): not exact enough for a set of keys
        if (!Array.isArray(arg) || !arg.every((x) => simpleScalar(x) && !isDecimal(x))) return undefined;
        // Set of encoded keys: equal under MongoDB equality (1 == 1.0 == Long(1)) exactly when encodings are.
        const wanted = new Set(arg.map(encodeValue));
        tests.push((vs) => vs.some((v) => v !== undefined && wanted.has(encodeValue(v))));
        break;
      }
      case '$gt':
      case '$gte':
      case '$lt':
      case '$lte': {
        if (!simpleScalar(arg)) return undefined;
        const rank = typeRank(arg);
        const ok = op === '$gt' ? (c: number) => c > 0 : op === '$gte' ? (c: number) => c >= 0 : op === '$lt' ? (c: number) => c < 0 : (c: number) => c <= 0;
        tests.push((vs) => vs.some((v) => v !== undefined && typeRank(v) === rank && ok(compareValues(v, arg))));
        break;
      }
      default:
        return undefined;
    }
  }
  return tests.length ? (vs) => tests.every((t) => t(vs)) : undefined;
}

/**
 * Filters made only of equality, $in and range conditions on plain scalars (string, number, boolean, Date,
 * ObjectId) are matched here without compiling a mingo query — the hot path of point lookups. Anything
 * else (null, arrays, regex, $ne, $exists, $or …) returns undefined and goes to mingo.
 */
function fastMatcher(filter: Doc): Matcher | undefined {
  const fields: [string, FieldTest][] = [];
  // a top-level $and of such filters is their conjunction (the registry's list filters are this shape)
  const collect = (f: Doc): boolean => {
    for (const [k, cond] of Object.entries(f)) {
      if (k === '$and') {
        if (!Array.isArray(cond) || cond.length === 0 || !cond.every((sub) => isPlainObject(sub) && collect(sub))) return false;
        continue;
      }
      if (k.startsWith('$')) return false;
      const t = fieldTest(cond);
      if (!t) return false;
      fields.push([k, t]);
    }
    return true;
  };
  if (!collect(filter)) return undefined;
  const compiled = fields.map(([path, t]) => ({ path, parts: path.split('.'), t }));
  const one: unknown[] = [undefined];
  return (doc) => {
    for (const { path, parts, t } of compiled) {
      // plain sub-documents down to a non-array value (the common case) give that one value; arrays on the
      // way and other shapes take pathValues' full MongoDB semantics
      let v: unknown = doc;
      for (let i = 0; i < parts.length && v !== undefined; i++) {
        if (i > 0 && !isPlainObject(v)) {
          v = null;
          break;
        }
        v = (v as Doc)[parts[i]];
      }
      let ok: boolean;
      if (v !== undefined && v !== null && !Array.isArray(v)) {
        one[0] = v;
        ok = t(one);
      } else ok = t(pathValues(doc, path));
      if (!ok) return false;
    }
    return true;
  };
}

function isDecimal(v: unknown): boolean {
  return (v as { _bsontype?: string } | null)?._bsontype === 'Decimal128';
}

function isPlainObject(v: unknown): v is Doc {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date) && !(v instanceof RegExp) && (v as { _bsontype?: string })._bsontype === undefined;
}

function point(v: unknown): Interval {
  return { lo: v, loInc: true, hi: v, hiInc: true };
}

function usableScalar(v: unknown): boolean {
  return !Array.isArray(v) && !(v instanceof RegExp) && (v as { _bsontype?: string } | null)?._bsontype !== 'BSONRegExp';
}

/** Intervals a field condition restricts its values to, or null when the condition can't use an index. */
export function conditionIntervals(cond: unknown): Interval[] | null {
  if (cond === undefined) return null;
  if (!isPlainObject(cond)) return usableScalar(cond) ? [point(cond ?? null)] : null;
  const keys = Object.keys(cond);
  if (keys.length === 0 || !keys[0].startsWith('$')) return [point(cond)];
  if ('$eq' in cond) return usableScalar(cond.$eq) && !isPlainObjectWithOps(cond.$eq) ? [point(cond.$eq ?? null)] : null;
  if ('$in' in cond) {
    const list = cond.$in;
    if (!Array.isArray(list) || list.length === 0 || list.length > MAX_SCANS || !list.every(usableScalar)) return null;
    // one scan per distinct value: a repeated value would return its documents twice
    const distinct = [...(list as unknown[])].sort(compareValues).filter((v, i, a) => i === 0 || compareValues(a[i - 1], v) !== 0);
    return distinct.map((v) => point(v ?? null));
  }
  let range: Interval | null = null;
  const bound = (op: string, v: unknown): void => {
    if (v === null || v === undefined || !usableScalar(v) || isPlainObject(v)) return;
    const rank = typeRank(v);
    const r = range ?? { lo: new TypeBound(rank, -1), loInc: true, hi: new TypeBound(rank, 1), hiInc: true };
    if (typeRank(r.lo) !== rank && !(r.lo instanceof TypeBound && r.lo.rank === rank)) return;
    if (op === '$gt' || op === '$gte') Object.assign(r, { lo: v, loInc: op === '$gte' });
    else Object.assign(r, { hi: v, hiInc: op === '$lte' });
    range = r;
  };
  for (const op of ['$gt', '$gte', '$lt', '$lte']) if (op in cond) bound(op, cond[op]);
  return range ? [range] : null;
}

function isPlainObjectWithOps(v: unknown): boolean {
  return isPlainObject(v) && Object.keys(v).some((k) => k.startsWith('$'));
}

/**
 * Plain equality, or one `$eq` / `$in`, with no null: a point index scan on the field returns exactly its
 * matches. Null also matches a missing field (and, on a dotted path, more than the index holds under null),
 * and two operators on one field must both hold: those are fetched and tested, as mongod does.
 */
function pureEquality(cond: unknown): boolean {
  if (cond === undefined || cond === null) return false;
  if (isDecimal(cond) || (isPlainObject(cond) && (isDecimal(cond.$eq) || (Array.isArray(cond.$in) && cond.$in.some(isDecimal))))) return false;
  if (!isPlainObject(cond)) return usableScalar(cond);
  const keys = Object.keys(cond);
  if (keys.length === 0 || !keys[0].startsWith('$')) return true;
  if (keys.length !== 1) return false;
  if (keys[0] === '$eq') return cond.$eq !== null && cond.$eq !== undefined;
  return keys[0] === '$in' && Array.isArray(cond.$in) && !cond.$in.some((v) => v === null || v === undefined);
}

/**
 * A range of strings only (`$gt`/`$gte`/`$lt`/`$lte` with string bounds): on the `_id` index (never an array,
 * its keys encode strings losslessly in order, keycodec.ts) the scan of that range returns exactly its matches —
 * the history's reads of one day or month of every point (`{ _id: { $gte: "202606:", $lt: "202606;" } }`).
 */
function pureStringRange(cond: unknown): boolean {
  if (!isPlainObject(cond)) return false;
  const keys = Object.keys(cond);
  return keys.length > 0 && keys.every((k) => (k === '$gt' || k === '$gte' || k === '$lt' || k === '$lte') && typeof cond[k] === 'string');
}

/** Top-level field conditions, including those inside a top-level $and. */
function fieldConditions(filter: Doc, out = new Map<string, Interval[]>()): Map<string, Interval[]> {
  for (const [k, v] of Object.entries(filter)) {
    if (k === '$and' && Array.isArray(v)) {
      for (const sub of v) if (isPlainObject(sub)) fieldConditions(sub, out);
      continue;
    }
    if (k.startsWith('$') || out.has(k)) continue;
    const ivs = conditionIntervals(v);
    if (ivs) out.set(k, ivs);
  }
  return out;
}

export interface Plan {
  stage: 'COLLSCAN' | 'IXSCAN' | 'IDHACK';
  index?: Index;
  /** Each entry is one scan: intervals for a prefix of the index fields. */
  scans: Interval[][];
  ids?: unknown[];
  sorted: boolean;
  reverse: boolean;
  /** The index scan returns exactly the matching documents (pure equality on scanned fields, or a string range on `_id`): no re-test. */
  exact?: boolean;
  /**
   * Several scans, each already in sort order (points on the fields before the sort fields): their
   * documents are merged by sort key — mongod's SORT_MERGE for `{ a: { $in: [...] } }` sorted on the
   * index's next field — so a limited find stops after limit documents instead of sorting all matches.
   */
  merge?: boolean;
}

/** More scans than this are not merged (each needs its head document): the plan gathers and sorts. */
const MAX_MERGE_SCANS = 256;

const MAX_SCANS = 20_000;

/**
 * Whether walking `ix` (after `eqPrefix` equality fields) yields documents in `sort` order. Entries with
 * equal keys are ordered by _id key, which follows _id order when every _id is an ObjectId, so a trailing
 * `_id` tie-breaker (the usual stable-pagination sort) is served by the index too.
 */
function sortFromIndex(ix: Index, eqPrefix: number, sort: SortSpec, idOrdered: boolean): { sorted: boolean; reverse: boolean } {
  if (sort.length === 0) return { sorted: true, reverse: false };
  const last = sort[sort.length - 1];
  if (idOrdered && sort.length > 1 && last[0] === '_id' && ix.name !== '_id_' && sort.length - 1 === ix.fields.length - eqPrefix) {
    const inner = sortFromIndex(ix, eqPrefix, sort.slice(0, -1), false);
    if (inner.sorted && (inner.reverse ? last[1] < 0 : last[1] > 0)) return inner;
    return { sorted: false, reverse: false };
  }
  const rest = ix.fields.slice(eqPrefix);
  if (sort.length > rest.length) return { sorted: false, reverse: false };
  let same = true;
  let opposite = true;
  for (let i = 0; i < sort.length; i++) {
    if (sort[i][0] !== rest[i][0]) return { sorted: false, reverse: false };
    if (sort[i][1] === rest[i][1]) opposite = false;
    else same = false;
  }
  if (same) return { sorted: true, reverse: false };
  if (opposite) return { sorted: true, reverse: true };
  return { sorted: false, reverse: false };
}

export function plan(coll: Collection, filter: Doc, sort: SortSpec): Plan {
  const conds = fieldConditions(filter);
  const idIvs = conds.get('_id');
  if (idIvs && idIvs.every(isPoint)) {
    const exact = Object.keys(filter).length === 1 && Object.prototype.hasOwnProperty.call(filter, '_id') && pureEquality(filter._id);
    return { stage: 'IDHACK', scans: [], ids: idIvs.map((iv) => iv.lo), sorted: idIvs.length === 1, reverse: false, exact };
  }
  let best: { plan: Plan; score: number } | undefined;
  for (const ix of coll.indexes.values()) {
    if (ix.special || ix.isPartial) continue;
    let scans: Interval[][] = [[]];
    let points = 0;
    let ranged = false;
    let eqPrefix = 0;
    for (const [field] of ix.fields) {
      const ivs = conds.get(field);
      if (!ivs) break;
      if (ix.sparse && ivs.some((iv) => iv.lo === null || iv.hi === null)) break;
      const allPoints = ivs.every(isPoint);
      if (scans.length * ivs.length > MAX_SCANS) break;
      scans = scans.flatMap((s) => ivs.map((iv) => [...s, iv]));
      if (!allPoints) {
        ranged = true;
        break;
      }
      points++;
      if (ivs.length === 1 && eqPrefix === points - 1) eqPrefix = points;
    }
    if (points === 0 && !ranged) continue;
    let merge = false;
    let order = { sorted: sort.length === 0, reverse: false };
    if (scans.length === 1) order = sortFromIndex(ix, eqPrefix, sort, coll.idsAreObjectIds);
    else if (sort.length > 0 && scans.length <= MAX_MERGE_SCANS) {
      // every scan has points on the first `points` fields, so each is ordered by the fields after them
      order = sortFromIndex(ix, points, sort, coll.idsAreObjectIds);
      merge = order.sorted;
    }
    const uniqueHit = ix.unique && points === ix.fields.length;
    const filterKeys = Object.keys(filter);
    const exact =
      (!ranged && filterKeys.length === points && ix.fields.slice(0, points).every(([f]) => f in filter && pureEquality(filter[f]))) ||
      (ranged && ix.name === '_id_' && filterKeys.length === 1 && filterKeys[0] === '_id' && pureStringRange(filter._id));
    const score = (uniqueHit ? 1000 : 0) + points * 10 + (ranged ? 5 : 0) + (order.sorted && sort.length ? 3 : 0);
    if (!best || score > best.score) {
      best = { plan: { stage: 'IXSCAN', index: ix, scans, sorted: order.sorted, reverse: order.reverse, exact, ...(merge ? { merge } : {}) }, score };
    }
  }
  const chosen = choose();
  chosen.index?.ensureBuilt(coll.docs);
  return chosen;

  function choose(): Plan {
    if (best && (best.score >= 10 || best.plan.sorted || sort.length === 0)) return best.plan;
    if (sort.length) {
      for (const ix of coll.indexes.values()) {
        if (!ix.complete) continue;
        const order = sortFromIndex(ix, 0, sort, coll.idsAreObjectIds);
        if (order.sorted) return { stage: 'IXSCAN', index: ix, scans: [[]], sorted: true, reverse: order.reverse };
      }
    }
    if (best) return best.plan;
    return { stage: 'COLLSCAN', scans: [], sorted: sort.length === 0, reverse: false };
  }
}

function* candidateIds(coll: Collection, p: Plan, sort: SortSpec, read: (id: string) => Doc | undefined = (id) => coll.docs.get(id)): Generator<string> {
  if (p.merge) {
    yield* mergedIds(coll, p, sort, read);
    return;
  }
  const seen = noDuplicates(coll, p.index!, p.scans) ? null : new Set<string>();
  for (const scan of p.scans) {
    for (const id of p.index!.scan(scan, p.reverse)) {
      if (seen) {
        if (seen.has(id)) continue;
        seen.add(id);
      }
      yield id;
    }
  }
}

interface MergeHead {
  it: Iterator<string>;
  id: string;
  keys: unknown[];
  /** Position of the scan: equal sort keys come out in scan order, like one index walk would give. */
  n: number;
}

/**
 * Ids of several ordered scans merged by the documents' sort keys (compared like sortDocs does), each
 * document once. Only the head document of each scan is read ahead.
 */
function* mergedIds(coll: Collection, p: Plan, sort: SortSpec, read: (id: string) => Doc | undefined): Generator<string> {
  const seen = new Set<string>();
  const cmp = (a: MergeHead, b: MergeHead): number => {
    for (let j = 0; j < sort.length; j++) {
      const c = compareValues(a.keys[j], b.keys[j]);
      if (c !== 0) return sort[j][1] * c;
    }
    return a.n - b.n;
  };
  // advances `h` to its next unseen, existing document; false when its scan is exhausted
  const advance = (h: MergeHead): boolean => {
    for (;;) {
      const r = h.it.next();
      if (r.done) return false;
      if (seen.has(r.value)) continue;
      const d = read(r.value);
      if (!d) continue;
      h.id = r.value;
      h.keys = sort.map(([path, dir]) => sortKey(d, path, dir));
      return true;
    }
  };
  const heap: MergeHead[] = [];
  const up = (i: number): void => {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (cmp(heap[i], heap[parent]) >= 0) return;
      [heap[i], heap[parent]] = [heap[parent], heap[i]];
      i = parent;
    }
  };
  const down = (i: number): void => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && cmp(heap[l], heap[m]) < 0) m = l;
      if (r < heap.length && cmp(heap[r], heap[m]) < 0) m = r;
      if (m === i) return;
      [heap[i], heap[m]] = [heap[m], heap[i]];
      i = m;
    }
  };
  p.scans.forEach((scan, n) => {
    const h: MergeHead = { it: p.index!.scan(scan, p.reverse), id: '', keys: [], n };
    if (advance(h)) {
      heap.push(h);
      up(heap.length - 1);
    }
  });
  while (heap.length) {
    const h = heap[0];
    const id = h.id;
    seen.add(id);
    yield id;
    // a document on several scans (multikey) is skipped where it shows up again
    if (advance(h)) down(0);
    else {
      const last = heap.pop()!;
      if (heap.length) {
        heap[0] = last;
        down(0);
      }
    }
    // heads of other scans may hold the id just yielded
    for (let i = 0; i < heap.length; i++) {
      if (heap[i].id !== id) continue;
      if (advance(heap[i])) {
        up(i);
        down(i);
      } else {
        const last = heap.pop()!;
        if (i < heap.length) {
          heap[i] = last;
          up(i);
          down(i);
        }
      }
      i = -1; // the heap changed shape: look again from the start
    }
  }
}

export interface QueryOptions {
  sort?: SortSpec;
  skip?: number;
  /** 0 = no limit. */
  limit?: number;
  /** The caller only re-sends the documents: undecoded ones may come back as their BSON Buffer. */
  raw?: boolean;
  /**
   * The caller reads only these top-level fields of the documents (a delete: the indexed ones): documents
   * are decoded only in these and the filter's fields, with their full bytes attached, and none enters the
   * cache. A delete of a job's staged rows (a thousand documents of a megabyte of text each) decoded them
   * all whole at once, gigabytes of strings in the store's heap.
   */
  fields?: ReadonlySet<string>;
}

export interface QueryResult {
  docs: Doc[];
  plan: Plan;
  docsExamined: number;
}

export function runQuery(coll: Collection | undefined, filter: Doc, opts: QueryOptions = {}): QueryResult {
  const sort = opts.sort ?? [];
  const skip = opts.skip ?? 0;
  const limit = opts.limit ?? 0;
  if (!coll) return { docs: [], plan: { stage: 'COLLSCAN', scans: [], sorted: true, reverse: false }, docsExamined: 0 };
  const test = compileFilter(filter);
  const p = plan(coll, filter, sort);
  countStage(coll, p);
  const out: Doc[] = [];
  let examined = 0;
  if (p.exact && p.sorted && (p.index || p.stage === 'IDHACK')) {
    // Skipped entries are never fetched: a deep page costs index steps only. With `raw`, documents not
    // decoded yet are returned as their BSON bytes (a find without projection only re-sends them).
    let skipped = 0;
    const ids = p.stage === 'IDHACK' ? (p.ids ?? []).map(idKey) : candidateIds(coll, p, sort);
    for (const id of ids) {
      if (skipped < skip) {
        skipped++;
        continue;
      }
      const d = opts.raw ? (coll.docs.peek(id) as Doc | undefined) : opts.fields ? coll.docs.getFields(id, opts.fields) : coll.docs.get(id);
      if (!d) continue;
      examined++;
      out.push(d);
      if (limit > 0 && out.length >= limit) break;
    }
    coll.stats.docsExamined += examined;
    return { docs: out, plan: p, docsExamined: examined };
  }
  const stopAt = p.sorted && limit > 0 ? skip + limit : Infinity;
  if (opts.raw && p.stage === 'COLLSCAN' && sort.length === 0 && Object.keys(filter).length === 0) {
    // match-all: nothing to test, so nothing is decoded (a full read must not leave every document decoded
    // in memory); the cursor sends the bytes, or projects them field by field
    let skipped = 0;
    for (const d of coll.docs.peekValues()) {
      if (skipped < skip) {
        skipped++;
        continue;
      }
      out.push(d as Doc);
      if (limit > 0 && out.length >= limit) break;
    }
    coll.stats.docsExamined += out.length;
    return { docs: out, plan: p, docsExamined: out.length };
  }
  const m = matchIds(coll, filter, test, p, sort, stopAt, false, opts.fields);
  examined = m.examined;
  coll.stats.docsExamined += examined;
  const order = !p.sorted && sort.length ? sortOrder(m.docs, sort) : undefined;
  const end = limit > 0 ? skip + limit : m.docs.length;
  // only the page is read whole: a match tested on some of its fields is fetched here (unless those fields
  // include all the caller reads)
  for (let i = skip; i < end && i < m.docs.length; i++) {
    const j = order ? order[i] : i;
    out.push(m.partial && !m.hasWanted ? ((opts.raw ? coll.docs.peek(m.ids[j]) : coll.docs.get(m.ids[j])) as Doc) : m.docs[j]);
  }
  return { docs: out, plan: p, docsExamined: examined };
}

/**
 * The top-level fields a filter reads (a dotted path reads the field before its first dot; `$and`, `$or`
 * and `$nor` read their branches' fields), or undefined when it may read others (`$expr`, `$where`,
 * `$text`, …). The filter tests a document holding only these fields like the whole document.
 */
export function filterFields(filter: Doc, out = new Set<string>()): Set<string> | undefined {
  for (const [k, v] of Object.entries(filter)) {
    if (k === '$and' || k === '$or' || k === '$nor') {
      if (!Array.isArray(v)) return undefined;
      for (const sub of v) if (!isPlainObject(sub) || !filterFields(sub, out)) return undefined;
      continue;
    }
    if (k.startsWith('$') || k === '') return undefined;
    const dot = k.indexOf('.');
    out.add(dot < 0 ? k : k.slice(0, dot));
  }
  return out;
}

interface Matches {
  ids: string[];
  /** The documents as tested: only some fields of each when `partial` (then fetch them by id). */
  docs: Doc[];
  partial: boolean;
  /** The partial documents hold every field the caller reads (QueryOptions.fields). */
  hasWanted: boolean;
  examined: number;
  count: number;
}

/**
 * Tests the plan's candidates. A collection larger than its decoded-document cache has its candidates
 * decoded only on the fields the filter (and an in-memory sort) reads: every scan would otherwise decode
 * each whole document again (~18 µs for a camera point), as the cache cannot hold them. A document read
 * again soon is still decoded whole and cached (a capped count or a page re-read request after request). A
 * smaller collection goes through the cache as before. `countOnly` keeps nothing, only the number of matches.
 */
function matchIds(coll: Collection, filter: Doc, test: Matcher, p: Plan, sort: SortSpec, stopAt: number, countOnly: boolean, wanted?: ReadonlySet<string>): Matches {
  let names = coll.docs.size > coll.docs.cacheSize || wanted ? filterFields(filter) : undefined;
  if (names && wanted) for (const f of wanted) names.add(f);
  if (names && !countOnly && (p.merge || (!p.sorted && sort.length))) {
    for (const [path] of sort) {
      const dot = path.indexOf('.');
      names.add(dot < 0 ? path : path.slice(0, dot));
    }
  }
  if (names && names.size === 0) names = undefined;
  const hasWanted = names !== undefined && wanted !== undefined;
  const collscan = p.stage === 'COLLSCAN' || !p.index;
  // a full scan's documents do not enter the cache (they would flush it); fetched ones do, as before
  const read = names
    ? (id: string) => coll.docs.getFields(id, names, !hasWanted)
    : collscan && p.stage !== 'IDHACK'
      ? (id: string) => coll.docs.getUncached(id)
      : (id: string) => coll.docs.get(id);
  const ids: Iterable<string> = p.stage === 'IDHACK' ? (p.ids ?? []).map(idKey) : collscan ? coll.docs.keys() : candidateIds(coll, p, sort, read);
  const m: Matches = { ids: [], docs: [], partial: names !== undefined, hasWanted, examined: 0, count: 0 };
  for (const id of ids) {
    const d = read(id);
    if (!d) continue;
    m.examined++;
    if (!test(d)) continue;
    m.count++;
    if (countOnly) {
      if (m.count >= stopAt) break;
      continue;
    }
    m.ids.push(id);
    m.docs.push(d);
    if (m.docs.length >= stopAt) break;
  }
  return m;
}

/** Counts the plan's stage in the collection's stats (explain's and `stats()`'s view of index use). */
function countStage(coll: Collection, p: Plan): void {
  if (p.stage === 'IDHACK') coll.stats.idlookups++;
  else if (p.stage === 'IXSCAN') coll.stats.ixscans++;
  else coll.stats.collscans++;
}

/**
 * Number of matching documents, up to `limit` when it is above 0 (a capped count stops testing there); an
 * empty filter or an exact index plan counts without reading documents.
 */
export function countQuery(coll: Collection | undefined, filter: Doc, limit = 0): number {
  const n = countAll(coll, filter, limit > 0 ? limit : Infinity);
  return limit > 0 ? Math.min(n, limit) : n;
}

function countAll(coll: Collection | undefined, filter: Doc, stopAt: number): number {
  if (!coll) return 0;
  if (Object.keys(filter).length === 0) return coll.docs.size;
  const p = plan(coll, filter, []);
  if (p.exact && p.index) {
    coll.stats.ixscans++;
    const counted = countEntries(coll, p.index, p.scans);
    if (counted !== undefined) return counted;
    let n = 0;
    // index entries and documents change together (one write transaction), so every id is a document
    for (const _id of candidateIds(coll, p, [])) if (++n >= stopAt) break;
    return n;
  }
  const test = compileFilter(filter);
  countStage(coll, p);
  // only how many: no document is kept, and a large collection's are decoded on the filter's fields only
  const m = matchIds(coll, filter, test, p, [], stopAt, true);
  coll.stats.docsExamined += m.examined;
  return m.count;
}

/**
 * The number of documents in the point scans of an exact plan from their entries alone (no set of ids to
 * drop duplicates), when no document can have two entries in them (noDuplicates); undefined otherwise.
 */
function countEntries(coll: Collection, ix: Index, scans: Interval[][]): number | undefined {
  if (!noDuplicates(coll, ix, scans)) return undefined;
  let n = 0;
  for (const scan of scans) for (const _id of ix.scan(scan)) n++;
  return n;
}

/**
 * Whether no document can come out of `scans` twice: each field is either a point of the only scan (a
 * multikey field then still matches one of a document's values) or holds one value per document.
 */
function noDuplicates(coll: Collection, ix: Index, scans: Interval[][]): boolean {
  for (let i = 0; i < ix.fields.length; i++) {
    if (scans.length === 1 && i < scans[0].length && isPoint(scans[0][i])) continue;
    if (!singleValued(coll, ix, i)) return false;
  }
  return true;
}

/**
 * Whether field `i` of the index has at most one value per document: a complete single-field index on
 * the same field with exactly one entry per document proves it (each document then yields one value).
 */
function singleValued(coll: Collection, ix: Index, i: number): boolean {
  const field = ix.fields[i][0];
  for (const other of coll.indexes.values()) {
    if (other.fields.length === 1 && other.fields[0][0] === field && other.complete && other.isBuilt && other.size === coll.docs.size) return true;
  }
  return false;
}

export function explainPlan(p: Plan, r?: QueryResult): Doc {
  const input: Doc =
    p.stage === 'COLLSCAN'
      ? { stage: 'COLLSCAN', direction: 'forward' }
      : p.stage === 'IDHACK'
        ? { stage: 'IDHACK' }
        : { stage: 'IXSCAN', keyPattern: p.index?.spec.key, indexName: p.index?.name, direction: p.reverse ? 'backward' : 'forward', isMultiKey: false };
  // several merged scans show as mongod shows them: SORT_MERGE over one IXSCAN per scan
  const merged = p.merge ? { stage: 'SORT_MERGE', inputStages: p.scans.map(() => input) } : input;
  const winningPlan = p.stage === 'COLLSCAN' ? input : { stage: 'FETCH', inputStage: merged };
  const doc: Doc = { queryPlanner: { winningPlan, rejectedPlans: [] } };
  if (r) doc.executionStats = { nReturned: r.docs.length, totalDocsExamined: r.docsExamined, executionSuccess: true };
  return doc;
}
