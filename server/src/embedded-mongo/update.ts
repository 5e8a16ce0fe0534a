/**
 * Applying one update statement to one document: replacement, operator ($set … $setOnInsert) or pipeline
 * form. Operators run through mingo's updater on a private copy, so a failing statement never touches the
 * stored document.
 */
import { ObjectId, Timestamp } from 'bson';
import { update as mingoUpdate, updateOne as mingoUpdateOne } from 'mingo';
import { compareValues, getPath, valuesEqual, type Doc } from './compare';
import { CommandError, formatValue } from './errors';
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

export function bsonTypeName(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (Array.isArray(v)) return 'array';
  if (v instanceof Date) return 'date';
  if (v instanceof RegExp) return 'regex';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return Number.isInteger(v) && Math.abs(v) < 2 ** 31 ? 'int' : 'double';
  if (typeof v === 'bigint') return 'long';
  const t = (v as { _bsontype?: string })._bsontype;
  return t ? t.charAt(0).toLowerCase() + t.slice(1) : 'object';
}

function isNumeric(v: unknown): boolean {
  return typeof v === 'number' || typeof v === 'bigint' || ['Long', 'Int32', 'Double', 'Decimal128'].includes((v as { _bsontype?: string } | null)?._bsontype ?? '');
}

/** mongod's type checks that mingo does not make (it silently skips a $inc on a string, for one). */
function checkOperandTypes(doc: Doc, mod: Doc): void {
  for (const [op, spec] of Object.entries(mod)) {
    for (const [path, arg] of Object.entries(spec as Doc)) {
      if (path.includes('$')) continue;
      const cur = getPath(doc, path);
      const field = path.split('.').pop() ?? path;
      if (op === '$inc' || op === '$mul') {
        const verb = op === '$inc' ? 'increment' : 'multiply';
        if (!isNumeric(arg)) throw new CommandError(14, 'TypeMismatch', `Cannot ${verb} with non-numeric argument: {${path}: ${formatValue(arg)}}`);
        if (cur !== undefined && cur !== null && !isNumeric(cur)) {
          throw new CommandError(14, 'TypeMismatch', `Cannot apply ${op} to a value of non-numeric type. {_id: ${formatValue(doc._id)}} has the field '${field}' of non-numeric type ${bsonTypeName(cur)}`);
        }
      } else if (op === '$push' && cur !== undefined && !Array.isArray(cur)) {
        throw new CommandError(2, 'BadValue', `The field '${path}' must be an array but is of type ${bsonTypeName(cur)} in document {_id: ${formatValue(doc._id)}}`);
      } else if (op === '$addToSet' && cur !== undefined && !Array.isArray(cur)) {
        throw new CommandError(2, 'BadValue', `Cannot apply $addToSet to non-array field. Field named '${field}' has non-array type ${bsonTypeName(cur)}`);
      } else if (op === '$pop' && cur !== undefined && !Array.isArray(cur)) {
        throw new CommandError(14, 'TypeMismatch', `Path '${path}' contains an element of non-array type '${bsonTypeName(cur)}'`);
      } else if ((op === '$pull' || op === '$pullAll') && cur !== undefined && !Array.isArray(cur)) {
        throw new CommandError(2, 'BadValue', `Cannot apply ${op} to a non-array value`);
      }
    }
  }
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
  stripIdNoOps(doc, mod, opts.inserting);
  checkOperandTypes(doc, mod);
  const copy = cloneDoc(doc);
  if (Object.keys(mod).length && !fastModify(copy, mod)) {
    try {
      mingoUpdate(copy, mod as never, opts.arrayFilters, opts.inserting ? undefined : opts.filter, { cloneMode: 'copy' });
    } catch (err) {
      throw asCommandError(err);
    }
  }
  checkId(doc, copy);
  return idFirst(copy);
}

const FAST_OPS = new Set(['$set', '$unset', '$inc', '$mul', '$min', '$max']);

/** The parent object of a plain dotted path inside plain objects, created on demand; undefined if not plain. */
function parentOf(doc: Doc, parts: string[], create: boolean): Doc | undefined {
  let cur: Doc = doc;
  for (let i = 0; i < parts.length - 1; i++) {
    const next = cur[parts[i]];
    if (next === undefined) {
      if (!create) return undefined;
      const made: Doc = {};
      cur[parts[i]] = made;
      cur = made;
    } else if (next !== null && typeof next === 'object' && (next).constructor === Object) {
      cur = next as Doc;
    } else {
      return undefined;
    }
  }
  return cur;
}

function isPlainNumber(v: unknown): v is number {
  return typeof v === 'number';
}

/**
 * The common operators on plain paths ($set, $unset, $inc, $mul, $min, $max, where no path goes through an
 * array or a non-object) applied directly: mingo's updater builds its whole operator context per call, which
 * dominates small updates. Returns false, having changed nothing, when anything needs mingo.
 */
function fastModify(doc: Doc, mod: Doc): boolean {
  const steps: (() => void)[] = [];
  for (const [op, spec] of Object.entries(mod)) {
    if (!FAST_OPS.has(op)) return false;
    for (const [path, arg] of Object.entries(spec as Doc)) {
      if (path.includes('$')) return false;
      const parts = path.split('.');
      const leaf = parts[parts.length - 1];
      const existingParent = parentOf(doc, parts, false);
      // A path through an array, a scalar or a BSON value is mingo's (or an error mingo reports).
      if (!existingParent) {
        for (let i = 0, cur: unknown = doc; i < parts.length - 1; i++) {
          cur = (cur as Doc)[parts[i]];
          if (cur === undefined) break;
          if (cur === null || typeof cur !== 'object' || (cur).constructor !== Object) return false;
        }
      }
      const cur = existingParent?.[leaf];
      if (Array.isArray(existingParent)) return false;
      switch (op) {
        case '$set':
          steps.push(() => (parentOf(doc, parts, true)![leaf] = cloneDoc(arg)));
          break;
        case '$unset':
          if (existingParent && leaf in existingParent) steps.push(() => delete existingParent[leaf]);
          break;
        case '$inc':
        case '$mul':
          if (!isPlainNumber(arg) || (cur !== undefined && !isPlainNumber(cur))) return false;
          steps.push(() => (parentOf(doc, parts, true)![leaf] = cur === undefined ? (op === '$inc' ? arg : 0) : op === '$inc' ? cur + arg : cur * arg));
          break;
        case '$min':
        case '$max': {
          if (cur !== undefined) {
            const c = compareValues(arg, cur);
            if (op === '$min' ? c >= 0 : c <= 0) break;
          }
          steps.push(() => (parentOf(doc, parts, true)![leaf] = cloneDoc(arg)));
          break;
        }
        default:
          return false;
      }
    }
  }
  for (const s of steps) s();
  return true;
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
