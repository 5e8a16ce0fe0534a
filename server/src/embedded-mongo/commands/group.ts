import { ObjectId } from 'bson';
import type { Doc } from '../compare';
import { makeDouble, makeNumber, numKind } from '../numbers';
import { compileProjection } from '../projection';

/**
 * A `$group` the store answers from the stored bytes, decoding only the fields it reads, instead of
 * decoding every document and running it through mingo: `_id` a field path, a constant, or an object of
 * field paths; accumulators `$sum` of a number, of a field path, or of `{ $cond: [<field path>, <n>, <n>] }`.
 * That is the registry's point-count query (per region × grid × sharing × maintainer × vendor), which over
 * 300,000 points took ~19 s the general way. Returns null for any other shape, or when a value it would
 * read is an array or a document (the general path then answers with full aggregation semantics).
 */

type Path = string[];
type Acc = { kind: 'const'; n: number } | { kind: 'field'; path: Path } | { kind: 'cond'; path: Path; yes: number; no: number };
interface Spec {
  id: { kind: 'const'; value: unknown } | { kind: 'path'; path: Path } | { kind: 'object'; fields: Array<[string, Path]> };
  accs: Array<[string, Acc]>;
  roots: Set<string>;
}

function fieldPath(v: unknown): Path | null {
  if (typeof v !== 'string' || !v.startsWith('$') || v.startsWith('$$') || v.length < 2) return null;
  const parts = v.slice(1).split('.');
  return parts.every((p) => p.length > 0 && !p.startsWith('$')) ? parts : null;
}

function isNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

function parse(group: Doc): Spec | null {
  const roots = new Set<string>();
  const use = (p: Path): Path => {
    roots.add(p[0]);
    return p;
  };
  let id: Spec['id'];
  const rawId = group._id;
  if (typeof rawId === 'string' && rawId.startsWith('$')) {
    const p = fieldPath(rawId);
    if (!p) return null;
    id = { kind: 'path', path: use(p) };
  } else if (rawId !== null && typeof rawId === 'object') {
    if ((rawId).constructor !== Object) return null;
    const fields: Array<[string, Path]> = [];
    for (const [k, v] of Object.entries(rawId as Doc)) {
      const p = fieldPath(v);
      if (!p || k.startsWith('$')) return null;
      fields.push([k, use(p)]);
    }
    if (fields.length === 0) return null;
    id = { kind: 'object', fields };
  } else if (rawId === null || isNumber(rawId) || typeof rawId === 'boolean' || (typeof rawId === 'string' && !rawId.startsWith('$'))) {
    id = { kind: 'const', value: rawId };
  } else {
    return null;
  }
  const accs: Array<[string, Acc]> = [];
  for (const [name, spec] of Object.entries(group)) {
    if (name === '_id') continue;
    if (name.includes('.') || spec === null || typeof spec !== 'object') return null;
    const ops = Object.keys(spec);
    if (ops.length !== 1 || ops[0] !== '$sum') return null;
    const arg = (spec as Doc).$sum;
    if (isNumber(arg)) {
      accs.push([name, { kind: 'const', n: arg }]);
      continue;
    }
    const p = fieldPath(arg);
    if (p) {
      accs.push([name, { kind: 'field', path: use(p) }]);
      continue;
    }
    if (arg !== null && typeof arg === 'object' && Object.keys(arg).length === 1 && '$cond' in (arg as Doc)) {
      const c = (arg as Doc).$cond;
      const parts: unknown[] = Array.isArray(c) ? (c as unknown[]) : c && typeof c === 'object' ? [(c as Doc).if, (c as Doc).then, (c as Doc).else] : [];
      const [test, yes, no] = parts;
      const tp = fieldPath(test);
      if (tp && isNumber(yes) && isNumber(no)) {
        accs.push([name, { kind: 'cond', path: use(tp), yes, no }]);
        continue;
      }
    }
    return null;
  }
  return { id, accs, roots };
}

const MISSING = Symbol('missing');
class Unsupported extends Error {}

/** The value at a path; arrays and documents as values are left to the general path. */
function read(doc: Doc, path: Path): unknown {
  let cur: unknown = doc;
  for (const part of path) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur) || cur instanceof ObjectId || cur instanceof Date) return MISSING;
    cur = (cur as Doc)[part];
    if (cur === undefined) return MISSING;
  }
  if (Array.isArray(cur)) throw new Unsupported();
  if (cur !== null && typeof cur === 'object' && !(cur instanceof ObjectId) && !(cur instanceof Date)) throw new Unsupported();
  return cur;
}

/** A grouping key that tells types apart the way $group does for these scalar values. */
function keyOf(v: unknown): string {
  if (v === MISSING) return 'm';
  if (v === null) return 'n';
  if (typeof v === 'string') return `s${v}`;
  if (typeof v === 'number') return `x${v}`;
  if (typeof v === 'boolean') return v ? 'T' : 'F';
  if (v instanceof ObjectId) return `o${v.toHexString()}`;
  if (v instanceof Date) return `d${v.getTime()}`;
  throw new Unsupported();
}

/** Aggregation truthiness: false, null, 0 and missing are false. */
function truthy(v: unknown): boolean {
  return !(v === MISSING || v === null || v === false || v === 0);
}

/** Null when the shape is not one of these (then `input` is not read: the general path runs the query). */
export function simpleGroup(input: () => Iterable<Doc | Uint8Array>, group: Doc): Doc[] | null {
  const spec = parse(group);
  if (!spec) return null;
  const docs = input();
  const project = spec.roots.size ? compileProjection(Object.fromEntries([...spec.roots].map((r) => [r, 1])), {}) : undefined;
  const groups = new Map<string, { id: unknown; sums: number[]; doubles: boolean[] }>();
  try {
    for (const input of docs) {
      const d = project ? project(input) : ({} as Doc);
      let key: string;
      let id: unknown;
      if (spec.id.kind === 'const') {
        key = '';
        id = spec.id.value;
      } else if (spec.id.kind === 'path') {
        // a single path: missing and null are one group, null (an _id document instead leaves the key out)
        const v = read(d, spec.id.path);
        key = v === MISSING ? 'n' : keyOf(v);
        id = v === MISSING ? null : v;
      } else {
        key = '';
        const obj: Doc = {};
        for (const [k, p] of spec.id.fields) {
          const v = read(d, p);
          key += `${keyOf(v)}\u0000`;
          if (v !== MISSING) obj[k] = v;
        }
        id = obj;
      }
      let g = groups.get(key);
      if (!g) groups.set(key, (g = { id, sums: spec.accs.map(() => 0), doubles: spec.accs.map(() => false) }));
      for (let i = 0; i < spec.accs.length; i++) {
        const a = spec.accs[i][1];
        let n: number;
        if (a.kind === 'const') n = a.n;
        else if (a.kind === 'cond') n = truthy(read(d, a.path)) ? a.yes : a.no;
        else {
          const v = read(d, a.path);
          if (typeof v !== 'number') continue;
          n = v;
        }
        g.sums[i] += n;
        if (!g.doubles[i] && numKind(n) === 'double') g.doubles[i] = true;
      }
    }
  } catch (err) {
    if (err instanceof Unsupported) return null;
    throw err;
  }
  return [...groups.values()].map((g) => {
    const out: Doc = { _id: g.id };
    // mongod's $sum type: Double when a double was summed, else Int32, or Int64 past Int32's range
    spec.accs.forEach(([name], i) => (out[name] = g.doubles[i] ? makeDouble(g.sums[i]) : numKind(g.sums[i]) === 'int' ? g.sums[i] : Number.isSafeInteger(g.sums[i]) ? makeNumber('long', g.sums[i]) : g.sums[i]));
    return out;
  });
}
