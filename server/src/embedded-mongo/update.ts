/**
 * Applying one update statement to one document: replacement, operator ($set … $setOnInsert) or pipeline
 * form. Operators run through mingo's updater on a private copy, so a failing statement never touches the
 * stored document.
 */
import { ObjectId, Timestamp } from 'bson';
import { compareValues, typeRank, valuesEqual, type Doc } from './compare';
import { CommandError, formatValue } from './errors';
import { bsonTypeName, Query, updateDoc, updateWithPipeline } from './mingo';
import { arith, isNumeric } from './numbers';
import { moveTrailingIdFirst, rawBson } from './wire';

const SUPPORTED = new Set([
  '$set', '$unset', '$inc', '$mul', '$min', '$max', '$push', '$pull', '$pullAll', '$addToSet', '$pop', '$rename',
  '$currentDate', '$setOnInsert', '$bit',
]);

/** Copies plain objects and arrays; BSON values (ObjectId, Date, Binary …) are immutable here and shared. */
export function cloneDoc<T>(v: T): T {
  if (Array.isArray(v)) return v.map(cloneDoc) as T;
  if (v !== null && typeof v === 'object' && (v as object).constructor === Object) {
    const out: Doc = {};
    for (const k in v as Doc) out[k] = cloneDoc((v as Doc)[k]);
    return out as T;
  }
  return v;
}

export function isOperatorUpdate(u: unknown): u is Doc {
  if (!u || typeof u !== 'object' || Array.isArray(u)) return false;
  const keys = Object.keys(u);
  return keys.length > 0 && keys[0].startsWith('$');
}

let tsCounter = 0;

function normalizeModifier(u: Doc, inserting: boolean): Doc {
  const mod: Doc = {};
  const paths: [string, string][] = [];
  for (const [op, spec] of Object.entries(u)) {
    if (!op.startsWith('$')) {
      throw new CommandError(9, 'FailedToParse', `Unknown modifier: ${op}. Expected a valid update modifier or pipeline-style update specified as an array`);
    }
    if (!SUPPORTED.has(op)) {
      throw new CommandError(9, 'FailedToParse', `Unknown modifier: ${op}. Expected a valid update modifier or pipeline-style update specified as an array`);
    }
    if (!spec || typeof spec !== 'object' || Array.isArray(spec)) {
      throw new CommandError(9, 'FailedToParse', `Modifiers operate on fields but we found type ${Array.isArray(spec) ? 'array' : typeof spec} instead. For example: {$mod: {<field>: ...}} not {${op}: ${JSON.stringify(spec)}}`);
    }
    for (const p of Object.keys(spec)) {
      paths.push([op, p]);
      if (op === '$rename') paths.push([op, String((spec as Doc)[p])]);
    }
    if (op === '$setOnInsert') {
      if (inserting) mod.$set = { ...((mod.$set) ?? {}), ...(spec as Doc) };
      continue;
    }
    if (op === '$currentDate') {
      const set: Doc = (mod.$set as Doc) ?? {};
      for (const [p, how] of Object.entries(spec as Doc)) {
        const wantsTs = typeof how === 'object' && how !== null && (how as Doc).$type === 'timestamp';
        set[p] = wantsTs ? new Timestamp({ t: Math.floor(Date.now() / 1000), i: ++tsCounter }) : new Date();
      }
      mod.$set = set;
      continue;
    }
    if (op === '$set' && mod.$set) mod.$set = { ...(mod.$set as Doc), ...(spec as Doc) };
    else mod[op] = { ...(spec as Doc) };
  }
  checkConflicts(paths);
  return mod;
}

function checkConflicts(paths: [string, string][]): void {
  const norm = paths.map(([op, p]) => [op, p.replace(/\.\$(\[[^\]]*\])?/g, '')] as const);
  for (let i = 0; i < norm.length; i++) {
    for (let j = i + 1; j < norm.length; j++) {
      const a = norm[i][1];
      const b = norm[j][1];
      if (a === b || a.startsWith(b + '.') || b.startsWith(a + '.')) {
        throw new CommandError(40, 'ConflictingUpdateOperators', `Updating the path '${paths[j][1]}' would create a conflict at '${paths[i][1]}'`);
      }
    }
  }
  for (const [, p] of paths) {
    if (p === '_id' || p.startsWith('_id.')) continue;
    if (p === '' || p.split('.').some((s) => s === '')) throw new CommandError(56, 'EmptyFieldName', `An empty update path is not valid.`);
  }
}

function checkId(before: Doc, after: Doc): void {
  if (before._id !== undefined && !valuesEqual(before._id, after._id)) {
    throw new CommandError(66, 'ImmutableField', `Performing an update on the path '_id' would modify the immutable field '_id'`);
  }
}

/** _id first, like mongod stores it. */
export function idFirst(doc: Doc): Doc {
  const keys = Object.keys(doc);
  if (keys[0] === '_id' || doc._id === undefined) return doc;
  const _id = doc._id;
  const out: Doc = { _id };
  for (const k in doc) if (k !== '_id') out[k] = doc[k];
  const raw = rawBson.get(doc);
  if (raw && keys[keys.length - 1] === '_id' && (_id as { _bsontype?: string })._bsontype === 'ObjectId') {
    const moved = moveTrailingIdFirst(raw);
    if (moved) rawBson.set(out, moved);
  }
  return out;
}

/** $set/$setOnInsert of _id to its current value is allowed (a no-op); any other _id change is refused. */
function stripIdNoOps(doc: Doc, mod: Doc, inserting: boolean): void {
  for (const [op, spec] of Object.entries(mod)) {
    for (const path of Object.keys(spec as Doc)) {
      if (path !== '_id' && !path.startsWith('_id.')) continue;
      if (inserting && doc._id === undefined && op === '$set') continue;
      if (op === '$set' && path === '_id' && valuesEqual((spec as Doc)[path], doc._id)) {
        delete (spec as Doc)[path];
        continue;
      }
      throw new CommandError(66, 'ImmutableField', `Performing an update on the path '_id' would modify the immutable field '_id'`);
    }
    if (Object.keys(spec as Doc).length === 0) delete mod[op];
  }
}

export interface ApplyOptions {
  filter: Doc;
  arrayFilters?: Doc[];
  inserting: boolean;
}

/** Returns the updated copy of `doc` (never mutates it). */
export function applyUpdate(doc: Doc, u: unknown, opts: ApplyOptions): Doc {
  if (Array.isArray(u)) {
    const docs = [cloneDoc(doc)];
    try {
      updateWithPipeline(docs, u as Doc[]);
    } catch (err) {
      throw asCommandError(err);
    }
    const out = idFirst(docs[0]);
    checkId(doc, out);
    return out;
  }
  if (!u || typeof u !== 'object') throw new CommandError(14, 'TypeMismatch', 'Update argument must be either an object or an array');
  if (!isOperatorUpdate(u)) {
    for (const k of Object.keys(u)) {
      if (k.startsWith('$')) throw new CommandError(52, 'DollarPrefixedFieldName', `The dollar ($) prefixed field '${k}' in '${k}' is not allowed in the context of an update's replacement document. Consider using an aggregation pipeline with $replaceWith.`);
    }
    const repl = cloneDoc(u as Doc);
    if (repl._id !== undefined && doc._id !== undefined && !valuesEqual(repl._id, doc._id)) {
      throw new CommandError(66, 'ImmutableField', `After applying the update, the (immutable) field '_id' was found to have been altered to _id: ${formatValue(repl._id)}`);
    }
    const { _id: _ignored, ...rest } = repl;
    return doc._id !== undefined ? { _id: doc._id, ...rest } : idFirst(repl);
  }
  const mod = normalizeModifier(u, opts.inserting);
  stripIdNoOps(doc, mod, opts.inserting);
  const copy = cloneDoc(doc);
  const rest: Doc = {};
  for (const [op, spec] of Object.entries(mod)) {
    const apply = OWN_OPS[op];
    if (!apply) {
      rest[op] = spec;
      continue;
    }
    for (const [path, arg] of Object.entries(spec as Doc)) {
      const walk = new PathWalk(copy, path, opts, op !== '$unset');
      walk.run((parent, key) => apply(parent, key, arg, walk.describe(parent, key)));
    }
  }
  if (Object.keys(rest).length) {
    checkOperandTypes(copy, rest);
    try {
      updateDoc(copy, rest, opts.arrayFilters, opts.inserting ? undefined : opts.filter);
    } catch (err) {
      throw asCommandError(err);
    }
  }
  checkId(doc, copy);
  return idFirst(copy);
}

/** mongod's type checks for the operators left to mingo (it silently skips a $pop on a string, for one). */
function checkOperandTypes(doc: Doc, mod: Doc): void {
  for (const [op, spec] of Object.entries(mod)) {
    for (const path of Object.keys(spec as Doc)) {
      if (path.includes('$')) continue;
      const cur = getPlainPath(doc, path);
      if (cur === undefined || Array.isArray(cur)) continue;
      if (op === '$push') {
        throw new CommandError(2, 'BadValue', `The field '${path}' must be an array but is of type ${bsonTypeName(cur)} in document {_id: ${formatValue(doc._id)}}`);
      } else if (op === '$pop') {
        throw new CommandError(14, 'TypeMismatch', `Path '${path}' contains an element of non-array type '${bsonTypeName(cur)}'`);
      } else if (op === '$pull' || op === '$pullAll') {
        throw new CommandError(2, 'BadValue', `Cannot apply ${op} to a non-array value`);
      }
    }
  }
}

function getPlainPath(doc: unknown, path: string): unknown {
  let v = doc;
  for (const p of path.split('.')) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Doc)[p];
  }
  return v;
}

type Container = Doc | unknown[];

/** Where an operator applies: the leaf's container and key, and how mongod names it in messages. */
interface Target {
  field: string;
  path: string;
  id: unknown;
}

type OwnOp = (parent: Container, key: string, arg: unknown, at: Target) => void;

function get(parent: Container, key: string): unknown {
  return Array.isArray(parent) ? parent[Number(key)] : parent[key];
}

function put(parent: Container, key: string, v: unknown): void {
  if (Array.isArray(parent)) {
    const i = Number(key);
    while (parent.length < i) parent.push(null);
    parent[i] = v;
  } else parent[key] = v;
}

function sameValue(a: unknown, b: unknown): boolean {
  return typeRank(a) === typeRank(b) && compareValues(a, b) === 0;
}

function numericOp(op: '$inc' | '$mul'): OwnOp {
  const verb = op === '$inc' ? 'increment' : 'multiply';
  return (parent, key, arg, at) => {
    if (!isNumeric(arg)) throw new CommandError(14, 'TypeMismatch', `Cannot ${verb} with non-numeric argument: {${at.path}: ${formatValue(arg)}}`);
    const cur = get(parent, key);
    if (cur === undefined) {
      put(parent, key, op === '$inc' ? arg : arith('multiply', 0, arg));
      return;
    }
    if (!isNumeric(cur)) {
      throw new CommandError(14, 'TypeMismatch', `Cannot apply ${op} to a value of non-numeric type. {_id: ${formatValue(at.id)}} has the field '${at.field}' of non-numeric type ${bsonTypeName(cur)}`);
    }
    put(parent, key, arith(op === '$inc' ? 'add' : 'multiply', cur, arg));
  };
}

function extremeOp(keepIf: (c: number) => boolean): OwnOp {
  return (parent, key, arg) => {
    const cur = get(parent, key);
    if (cur !== undefined && keepIf(compareValues(arg, cur))) return;
    put(parent, key, cloneDoc(arg));
  };
}

const OWN_OPS: Record<string, OwnOp> = {
  $set: (parent, key, arg) => put(parent, key, cloneDoc(arg)),
  $unset: (parent, key) => {
    if (Array.isArray(parent)) {
      if (Number(key) < parent.length) parent[Number(key)] = null;
    } else delete parent[key];
  },
  $inc: numericOp('$inc'),
  $mul: numericOp('$mul'),
  $min: extremeOp((c) => c >= 0),
  $max: extremeOp((c) => c <= 0),
  $addToSet: (parent, key, arg, at) => {
    const each = arg !== null && typeof arg === 'object' && (arg as Doc).constructor === Object && '$each' in (arg as Doc);
    const values = each ? (arg as Doc).$each : [arg];
    if (!Array.isArray(values)) throw new CommandError(2, 'BadValue', `The argument to $each in $addToSet must be an array but it was of type ${bsonTypeName(values)}`);
    const cur = get(parent, key);
    if (cur !== undefined && !Array.isArray(cur)) {
      throw new CommandError(2, 'BadValue', `Cannot apply $addToSet to non-array field. Field named '${at.field}' has non-array type ${bsonTypeName(cur)}`);
    }
    const out = cur === undefined ? [] : (cur as unknown[]);
    // only values not already there are added; duplicates already in the array stay (mongod never dedups it)
    for (const v of values as unknown[]) if (!out.some((x) => sameValue(x, v))) out.push(cloneDoc(v));
    if (cur === undefined) put(parent, key, out);
  },
};

/**
 * Resolves one update path to the containers it names, like mongod's update driver: `$` is the array
 * element the query matched, `$[]` every element, `$[id]` the elements the array filter `id` accepts;
 * missing fields are created on the way when `create` (a scalar on the way is PathNotViable).
 */
class PathWalk {
  private readonly parts: string[];

  constructor(
    private readonly doc: Doc,
    private readonly path: string,
    private readonly opts: ApplyOptions,
    private readonly create: boolean,
  ) {
    this.parts = path.split('.');
  }

  describe(_parent: Container, key: string): Target {
    return { field: key, path: this.path, id: this.doc._id };
  }

  run(leaf: (parent: Container, key: string) => void): void {
    this.step(this.doc, 0, [], leaf);
  }

  private step(cur: Container, i: number, prefix: string[], leaf: (parent: Container, key: string) => void): void {
    const part = this.parts[i];
    const last = i === this.parts.length - 1;
    if (part === '$' || part.startsWith('$[')) {
      if (!Array.isArray(cur)) {
        if (part === '$') throw new CommandError(2, 'BadValue', 'The positional operator did not find the match needed from the query.');
        throw new CommandError(2, 'BadValue', `Cannot apply array updates to non-array element ${prefix[prefix.length - 1]}: ${formatValue(cur)}`);
      }
      for (const idx of this.positions(cur, part, prefix)) this.descend(cur, String(idx), i, last, [...prefix, String(idx)], leaf);
      return;
    }
    this.descend(cur, part, i, last, [...prefix, part], leaf);
  }

  private descend(cur: Container, key: string, i: number, last: boolean, prefix: string[], leaf: (parent: Container, key: string) => void): void {
    if (Array.isArray(cur) && !/^\d+$/.test(key)) {
      if (!this.create) return;
      throw new CommandError(28, 'PathNotViable', `Cannot create field '${key}' in element {${prefix.slice(-2, -1)[0] ?? ''}: ${formatValue(cur)}}`);
    }
    if (last) {
      leaf(cur, key);
      return;
    }
    let next = get(cur, key);
    if (next === undefined || next === null) {
      if (!this.create) return;
      if (next === null) throw new CommandError(28, 'PathNotViable', `Cannot create field '${this.parts[i + 1]}' in element {${key}: null}`);
      const nextPart = this.parts[i + 1];
      if (nextPart === '$' || nextPart.startsWith('$[')) {
        throw new CommandError(2, 'BadValue', `The path '${prefix.join('.')}' must exist in the document in order to apply array updates.`);
      }
      next = {};
      put(cur, key, next);
    } else if (typeof next !== 'object' || (!Array.isArray(next) && (next).constructor !== Object)) {
      if (!this.create) return;
      throw new CommandError(28, 'PathNotViable', `Cannot create field '${this.parts[i + 1]}' in element {${key}: ${formatValue(next)}}`);
    }
    this.step(next as Container, i + 1, prefix, leaf);
  }

  /** The array positions a positional part selects. */
  private positions(arr: unknown[], part: string, prefix: string[]): number[] {
    if (part === '$[]') return arr.map((_, i) => i);
    if (part === '$') {
      const field = prefix.join('.');
      const conds: Doc = {};
      for (const [k, v] of Object.entries(this.opts.filter)) if (k === field || k.startsWith(field + '.')) conds[k] = v;
      if (Object.keys(conds).length === 0) {
        throw new CommandError(2, 'BadValue', 'The positional operator did not find the match needed from the query.');
      }
      const q = new Query(conds);
      const i = arr.findIndex((e) => q.test({ [field]: [e] }));
      if (i < 0) throw new CommandError(2, 'BadValue', 'The positional operator did not find the match needed from the query.');
      return [i];
    }
    const id = part.slice(2, -1);
    const filter = (this.opts.arrayFilters ?? []).find((f) => Object.keys(f).some((k) => k === id || k.startsWith(id + '.')));
    if (!filter) throw new CommandError(2, 'BadValue', `No array filter found for identifier '${id}' in path '${this.path}'`);
    const q = new Query(filter);
    const out: number[] = [];
    arr.forEach((e, i) => {
      if (q.test({ [id]: e })) out.push(i);
    });
    return out;
  }
}

function asCommandError(err: unknown): Error {
  if (err instanceof CommandError) return err;
  const msg = (err as Error).message ?? String(err);
  if (msg.includes("would modify the immutable field '_id'")) return new CommandError(66, 'ImmutableField', msg.replace(/\.$/, ''));
  return new CommandError(2, 'BadValue', msg);
}

/** The document an upsert starts from: the equality fields of the filter (`{ a: 1, 'b.c': 2, $and: [...] }`). */
export function upsertSeed(filter: Doc): Doc {
  const seed: Doc = {};
  const visit = (f: Doc): void => {
    for (const [k, v] of Object.entries(f)) {
      if (k === '$and' && Array.isArray(v)) {
        for (const sub of v) if (sub && typeof sub === 'object') visit(sub as Doc);
        continue;
      }
      if (k.startsWith('$')) continue;
      let value: unknown = v;
      if (v && typeof v === 'object' && !Array.isArray(v) && (v).constructor === Object) {
        const keys = Object.keys(v);
        if (keys.length && keys[0].startsWith('$')) {
          if (!('$eq' in v)) continue;
          value = (v as Doc).$eq;
        }
      }
      setPath(seed, k, cloneDoc(value));
    }
  };
  visit(filter);
  return seed;
}

export function setPath(doc: Doc, path: string, value: unknown): void {
  const parts = path.split('.');
  let cur: Doc = doc;
  for (let i = 0; i < parts.length - 1; i++) {
    const next = cur[parts[i]];
    if (!next || typeof next !== 'object') cur[parts[i]] = {};
    cur = cur[parts[i]] as Doc;
  }
  cur[parts[parts.length - 1]] = value;
}

export function withId(doc: Doc): Doc {
  if (doc._id !== undefined) return idFirst(doc);
  return { _id: new ObjectId(), ...doc };
}
