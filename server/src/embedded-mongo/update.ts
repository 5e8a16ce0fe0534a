/**
 * Applying one update statement to one document: replacement, operator ($set … $setOnInsert) or pipeline
 * form. Operators run through mingo's updater on a private copy, so a failing statement never touches the
 * stored document.
 */
import { ObjectId, Timestamp } from 'bson';
import { update as mingoUpdate, updateOne as mingoUpdateOne } from 'mingo';
import { valuesEqual, type Doc } from './compare';
import { CommandError, formatValue } from './errors';

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
    else mod[op] = spec;
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
  if (Object.keys(doc)[0] === '_id' || doc._id === undefined) return doc;
  const { _id, ...rest } = doc;
  return { _id, ...rest };
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
      mingoUpdateOne(docs, {}, u as never, { cloneMode: 'copy' });
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
  const copy = cloneDoc(doc);
  if (Object.keys(mod).length) {
    try {
      mingoUpdate(copy, mod as never, opts.arrayFilters, opts.inserting ? undefined : opts.filter, { cloneMode: 'copy' });
    } catch (err) {
      throw asCommandError(err);
    }
  }
  checkId(doc, copy);
  return idFirst(copy);
}

function asCommandError(err: unknown): Error {
  if (err instanceof CommandError) return err;
  const msg = (err as Error).message ?? String(err);
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
