import { WriteTx } from '../collection';
import { compareValues, toNumber, type Doc } from '../compare';
import { validateCollectionName } from '../engine';
import { CommandError } from '../errors';
import { defaultIndexName, type IndexSpec } from '../indexes';
import { bsonTypeName } from '../mingo';
import { isNumeric } from '../numbers';
import { compileFilter } from '../query';
import { collectionName, type Handler } from './context';

const idIndex = { v: 2, key: { _id: 1 }, name: '_id_' };

/** A `$jsonSchema` anywhere in a validator (not enforced here: refused unless mongod would only warn). */
function hasJsonSchema(v: unknown): boolean {
  if (Array.isArray(v)) return v.some(hasJsonSchema);
  if (!v || typeof v !== 'object' || (v).constructor !== Object) return false;
  return Object.entries(v as Doc).some(([k, x]) => k === '$jsonSchema' || hasJsonSchema(x));
}

/** Collection options the store cannot honour are refused, never stored and ignored. */
function checkCollectionOptions(options: Doc): void {
  if (options.viewOn !== undefined || options.pipeline !== undefined) {
    throw new CommandError(238, 'NotImplemented', 'views (create with viewOn/pipeline) are not supported by the embedded store');
  }
  if (options.capped && options.size === undefined) throw new CommandError(72, 'InvalidOptions', "the 'size' field is required when 'capped' is true");
  if (options.timeseries !== undefined || options.clusteredIndex !== undefined || options.changeStreamPreAndPostImages !== undefined) {
    throw new CommandError(238, 'NotImplemented', 'time-series, clustered and pre/post-image collections are not supported by the embedded store');
  }
  const enforced = options.validationLevel !== 'off' && options.validationAction !== 'warn';
  if (options.validator !== undefined) {
    if (!options.validator || typeof options.validator !== 'object' || Array.isArray(options.validator)) {
      throw new CommandError(14, 'TypeMismatch', "BSON field 'validator' is the wrong type, expected type 'object'");
    }
    if (enforced && hasJsonSchema(options.validator)) {
      throw new CommandError(238, 'NotImplemented', '$jsonSchema validators are not enforced by the embedded store (use a query-operator validator, or validationAction: "warn")');
    }
    compileFilter(options.validator);
  }
}

const create: Handler = (ctx) => {
  const name = validateCollectionName(collectionName(ctx, 'create'));
  const { create: _n, $db: _d, lsid: _l, $readPreference: _r, writeConcern: _w, comment: _c, ...options } = ctx.cmd;
  checkCollectionOptions(options);
  const existing = ctx.engine.get(ctx.db, name);
  if (existing) {
    // Since 7.0 a repeated create with identical options succeeds; different options are a conflict.
    if (compareValues(existing.options, options) === 0) return { ok: 1 };
    throw new CommandError(48, 'NamespaceExists', `Collection ${ctx.db}.${name} already exists.`);
  }
  const tx = new WriteTx();
  ctx.engine.ensure(ctx.db, name, tx, options);
  ctx.engine.commit(tx);
  return { ok: 1 };
};

const drop: Handler = (ctx) => {
  const name = collectionName(ctx, 'drop');
  const coll = ctx.engine.get(ctx.db, name);
  const nIndexesWas = coll?.indexes.size ?? 0;
  ctx.engine.drop(ctx.db, name);
  return coll ? { nIndexesWas, ns: `${ctx.db}.${name}`, ok: 1 } : { ok: 1 };
};

const dropDatabase: Handler = (ctx) => {
  ctx.engine.dropDatabase(ctx.db);
  return { ok: 1 };
};

const listCollections: Handler = (ctx) => {
  const nameOnly = Boolean(ctx.cmd.nameOnly);
  const test = compileFilter(ctx.cmd.filter);
  const docs: Doc[] = [];
  for (const coll of ctx.engine.dbs.get(ctx.db)?.values() ?? []) {
    const full: Doc = { name: coll.name, type: 'collection', options: coll.options, info: { readOnly: false }, idIndex };
    if (!test(full)) continue;
    docs.push(nameOnly ? { name: coll.name, type: 'collection' } : full);
  }
  docs.sort((a, b) => compareValues(a.name, b.name));
  const batchSize = (ctx.cmd.cursor as Doc | undefined)?.batchSize as number | undefined;
  return { cursor: ctx.engine.cursors.first(`${ctx.db}.$cmd.listCollections`, docs, { batchSize }), ok: 1 };
};

const ALLOWED_INDEX_OPTIONS = new Set([
  'key', 'name', 'unique', 'sparse', 'partialFilterExpression', 'expireAfterSeconds', 'background', 'v', 'hidden', 'collation',
  'weights', 'default_language', 'language_override', 'textIndexVersion', '2dsphereIndexVersion', 'bits', 'min', 'max', 'wildcardProjection',
]);

/** Index types mongod 7.0 knows (text, geo and hashed are listed but not used by the planner here). */
const INDEX_PLUGINS = new Set(['text', '2dsphere', '2d', 'hashed', '2dsphere_bucket', 'columnstore']);

function normalizeSpec(raw: unknown): IndexSpec {
  if (!raw || typeof raw !== 'object') throw new CommandError(9, 'FailedToParse', 'index specification must be an object');
  const r = raw as Doc;
  const key = r.key as Doc | undefined;
  if (!key || typeof key !== 'object' || Object.keys(key).length === 0) {
    throw new CommandError(67, 'CannotCreateIndex', "Index keys cannot be an empty field.");
  }
  for (const k of Object.keys(r)) {
    if (!ALLOWED_INDEX_OPTIONS.has(k)) throw new CommandError(197, 'InvalidIndexSpecificationOption', `The field '${k}' is not valid for an index specification. Specification: ${JSON.stringify(r)}`);
  }
  for (const [field, kind] of Object.entries(key)) {
    if (typeof kind === 'string') {
      if (!INDEX_PLUGINS.has(kind)) throw new CommandError(67, 'CannotCreateIndex', `Unknown index plugin '${kind}'`);
    } else if (!isNumeric(kind)) {
      throw new CommandError(67, 'CannotCreateIndex', `Values in v:2 index key pattern cannot be of type ${bsonTypeName(kind)}. Only numbers > 0, numbers < 0, and strings are allowed.`);
    } else if (toNumber(kind) === 0) {
      throw new CommandError(67, 'CannotCreateIndex', `Values in the index key pattern can't be 0 for field: ${field}`);
    }
  }
  const spec: IndexSpec = { v: 2, key, name: typeof r.name === 'string' ? r.name : defaultIndexName(key) };
  if (r.unique) spec.unique = true;
  if (r.sparse) spec.sparse = true;
  if (r.partialFilterExpression) spec.partialFilterExpression = r.partialFilterExpression as Doc;
  if (r.expireAfterSeconds !== undefined) spec.expireAfterSeconds = r.expireAfterSeconds as number;
  for (const k of ['hidden', 'collation', 'weights', 'default_language', 'language_override', 'textIndexVersion', '2dsphereIndexVersion', 'bits', 'min', 'max', 'wildcardProjection']) {
    if (r[k] !== undefined) spec[k] = r[k];
  }
  return spec;
}

function sameOptions(a: IndexSpec, b: IndexSpec): boolean {
  return (
    Boolean(a.unique) === Boolean(b.unique) &&
    Boolean(a.sparse) === Boolean(b.sparse) &&
    compareValues(a.partialFilterExpression ?? null, b.partialFilterExpression ?? null) === 0 &&
    compareValues(a.expireAfterSeconds ?? null, b.expireAfterSeconds ?? null) === 0
  );
}

const createIndexes: Handler = (ctx) => {
  const name = collectionName(ctx, 'createIndexes');
  const list = ctx.cmd.indexes;
  if (!Array.isArray(list) || list.length === 0) throw new CommandError(2, 'BadValue', 'Must specify at least one index to create');
  const specs = list.map(normalizeSpec);
  const existed = Boolean(ctx.engine.get(ctx.db, name));
  const tx = new WriteTx();
  const coll = ctx.engine.ensure(ctx.db, name, tx);
  ctx.engine.commit(tx);
  const before = coll.indexes.size;
  const toBuild: IndexSpec[] = [];
  for (const spec of specs) {
    const sameName = coll.indexes.get(spec.name)?.spec ?? toBuild.find((s) => s.name === spec.name);
    if (sameName) {
      if (compareValues(sameName.key, spec.key) !== 0 || !sameOptions(sameName, spec)) {
        throw new CommandError(86, 'IndexKeySpecsConflict', `An existing index has the same name as the requested index. When index names are not specified, they are auto generated and can cause conflicts. Please refer to our documentation. Requested index: ${JSON.stringify(spec)}, existing index: ${JSON.stringify(sameName)}`);
      }
      continue;
    }
    const sameKey = coll.findIndexByKey(spec.key);
    if (sameKey && compareValues(sameKey.spec.partialFilterExpression ?? null, spec.partialFilterExpression ?? null) === 0) {
      throw new CommandError(85, 'IndexOptionsConflict', `Index already exists with a different name: ${sameKey.name}`);
    }
    toBuild.push(spec);
  }
  for (const spec of toBuild) {
    try {
      coll.addIndex(spec);
    } catch (err) {
      if (err instanceof CommandError && err.code === 11000) {
        throw new CommandError(11000, 'DuplicateKey', `Index build failed: ${err.message}`, err.extra);
      }
      throw err;
    }
  }
  if (toBuild.length) ctx.engine.saveMeta(coll);
  const reply: Doc = { numIndexesBefore: before, numIndexesAfter: coll.indexes.size, createdCollectionAutomatically: !existed };
  if (!toBuild.length) reply.note = 'all indexes already exist';
  reply.ok = 1;
  return reply;
};

const listIndexes: Handler = (ctx) => {
  const name = collectionName(ctx, 'listIndexes');
  const coll = ctx.engine.get(ctx.db, name);
  if (!coll) throw new CommandError(26, 'NamespaceNotFound', `ns does not exist: ${ctx.db}.${name}`);
  const docs = [...coll.indexes.values()].map((i) => i.spec as Doc);
  const batchSize = (ctx.cmd.cursor as Doc | undefined)?.batchSize as number | undefined;
  return { cursor: ctx.engine.cursors.first(`${ctx.db}.$cmd.listIndexes.${name}`, docs, { batchSize }), ok: 1 };
};

const dropIndexes: Handler = (ctx) => {
  const name = collectionName(ctx, Object.keys(ctx.cmd)[0]);
  const coll = ctx.engine.get(ctx.db, name);
  if (!coll) throw new CommandError(26, 'NamespaceNotFound', `ns not found ${ctx.db}.${name}`);
  const nIndexesWas = coll.indexes.size;
  const which = ctx.cmd.index;
  const names: string[] = [];
  if (which === '*') {
    for (const ix of coll.indexes.values()) if (ix.name !== '_id_') names.push(ix.name);
  } else if (typeof which === 'string') {
    names.push(which);
  } else if (Array.isArray(which)) {
    names.push(...which.map(String));
  } else if (which && typeof which === 'object') {
    const ix = coll.findIndexByKey(which as Doc);
    if (!ix) throw new CommandError(27, 'IndexNotFound', `can't find index with key: ${JSON.stringify(which)}`);
    names.push(ix.name);
  } else {
    throw new CommandError(14, 'TypeMismatch', "BSON field 'index' is the wrong type");
  }
  for (const n of names) {
    if (n === '_id_') throw new CommandError(72, 'InvalidOptions', 'cannot drop _id index');
    if (!coll.indexes.has(n)) throw new CommandError(27, 'IndexNotFound', `index not found with name [${n}]`);
  }
  for (const n of names) coll.dropIndex(n);
  ctx.engine.saveMeta(coll);
  return { nIndexesWas, ok: 1 };
};

const collMod: Handler = (ctx) => {
  const name = collectionName(ctx, 'collMod');
  const coll = ctx.engine.get(ctx.db, name);
  if (!coll) throw new CommandError(26, 'NamespaceNotFound', `ns does not exist: ${ctx.db}.${name}`);
  const change = ctx.cmd.index as Doc | undefined;
  const reply: Doc = { ok: 1 };
  const { collMod: _n, $db: _d, lsid: _l, $readPreference: _r, writeConcern: _w, comment: _c, index: _i, ...other } = ctx.cmd;
  if (Object.keys(other).length) {
    const next = { ...coll.options, ...other };
    checkCollectionOptions(next);
    coll.options = next;
    ctx.engine.saveMeta(coll);
  }
  if (change) {
    const ix = typeof change.name === 'string' ? coll.indexes.get(change.name) : change.keyPattern ? coll.findIndexByKey(change.keyPattern as Doc) : undefined;
    if (!ix) throw new CommandError(27, 'IndexNotFound', 'cannot find index for collMod');
    if (change.expireAfterSeconds !== undefined) {
      reply.expireAfterSeconds_old = ix.spec.expireAfterSeconds;
      ix.spec.expireAfterSeconds = change.expireAfterSeconds as number;
      reply.expireAfterSeconds_new = change.expireAfterSeconds;
    }
    ctx.engine.saveMeta(coll);
  }
  return reply;
};

const renameCollection: Handler = (ctx) => {
  const from = String(ctx.cmd.renameCollection);
  const to = String(ctx.cmd.to);
  const [fromDb, ...fromRest] = from.split('.');
  const [toDb, ...toRest] = to.split('.');
  const src = ctx.engine.get(fromDb, fromRest.join('.'));
  if (!src) throw new CommandError(26, 'NamespaceNotFound', `Source collection ${from} does not exist`);
  const toName = validateCollectionName(toRest.join('.'));
  if (ctx.engine.get(toDb, toName)) {
    if (!ctx.cmd.dropTarget) throw new CommandError(48, 'NamespaceExists', `target namespace exists`);
    ctx.engine.drop(toDb, toName);
  }
  const docs = [...src.docs.values()];
  const specs = [...src.indexes.values()].map((i) => i.spec).filter((s) => s.name !== '_id_');
  const tx = new WriteTx();
  const dst = ctx.engine.ensure(toDb, toName, tx, src.options);
  for (const s of specs) dst.addIndex(s);
  tx.ops.push({ t: 'meta', ns: dst.ns, meta: dst.meta() });
  for (const d of docs) dst.insert(d, tx);
  tx.ops.push({ t: 'drop', ns: src.ns });
  ctx.engine.commit(tx);
  ctx.engine.dbs.get(fromDb)?.delete(src.name);
  return { ok: 1 };
};

export const ddlCommands: Record<string, Handler> = {
  create,
  drop,
  dropDatabase,
  listCollections,
  createIndexes,
  listIndexes,
  dropIndexes,
  deleteIndexes: dropIndexes,
  collMod,
  renameCollection,
};
