import { WriteTx, type Collection } from '../collection';
import { parseSort, type Doc } from '../compare';
import { CommandError } from '../errors';
import { compileProjection } from '../projection';
import { runQuery } from '../query';
import { applyUpdate, isOperatorUpdate, upsertSeed, withId } from '../update';
import { bsonOf, decodeFields, InsertBytes } from '../wire';
import { compileFilter, type Matcher } from '../query';
import { checkHint, collectionName, optionalDoc, optionalNumber, type CommandContext, type Handler } from './context';

const validators = new WeakMap<Doc, Matcher>();

/**
 * The collection's validator as mongod applies it: `validationLevel: "off"` or `validationAction: "warn"`
 * check nothing; "moderate" lets an update through when the document was already invalid. ($jsonSchema
 * validators are refused when the collection is created: ddl.ts.)
 */
function validates(coll: Collection): boolean {
  const { validator, validationLevel, validationAction } = coll.options;
  return Boolean(validator) && typeof validator === 'object' && validationLevel !== 'off' && validationAction !== 'warn';
}

function validate(coll: Collection, doc: Doc, before?: Doc): void {
  if (!validates(coll)) return;
  const { validator, validationLevel } = coll.options;
  let test = validators.get(validator as Doc);
  if (!test) validators.set(validator as Doc, (test = compileFilter(validator)));
  if (test(doc)) return;
  if (before && validationLevel === 'moderate' && !test(before)) return;
  throw new CommandError(121, 'DocumentValidationFailure', 'Document failed validation', { errInfo: { failingDocumentId: doc._id, details: { operatorName: '$and', schemaRulesNotSatisfied: [] } } });
}

/** A capped collection drops its oldest documents (insertion order) past `max` documents or `size` bytes. */
function trimCapped(coll: Collection, tx: WriteTx): void {
  if (!coll.options.capped) return;
  const max = optionalNumber(coll.options.max, 'max') ?? 0;
  const size = optionalNumber(coll.options.size, 'size') ?? 0;
  let bytes = size > 0 ? coll.docs.byteSize() : 0;
  for (const [, doc] of coll.docs) {
    const over = (max > 0 && coll.docs.size > max) || (size > 0 && bytes > size && coll.docs.size > 1);
    if (!over) break;
    if (size > 0) bytes -= bsonOf(doc).length;
    coll.remove(doc, tx);
  }
}

function statements(ctx: CommandContext, field: string): Doc[] {
  const v = ctx.cmd[field];
  if (!Array.isArray(v)) throw new CommandError(14, 'TypeMismatch', `BSON field '${field}' is the wrong type, expected type 'array'`);
  return v as Doc[];
}

function writeError(index: number, err: unknown): Doc {
  if (err instanceof CommandError) return { index, code: err.code, errmsg: err.message, ...err.extra };
  return { index, code: 1, errmsg: (err as Error).message ?? String(err) };
}

function prepareInsert(doc: unknown): Doc {
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new CommandError(14, 'TypeMismatch', 'document to insert must be an object');
  const d = withId(doc as Doc);
  if (Array.isArray(d._id)) throw new CommandError(53, 'InvalidIdField', "The '_id' value cannot be of type array");
  if (d._id instanceof RegExp) throw new CommandError(53, 'InvalidIdField', "The '_id' value cannot be of type regex");
  return d;
}

/** Runs statements one by one like mongod: ordered stops at the first error, unordered goes on. */
function runStatements(ctx: CommandContext, field: string, each: (stmt: Doc, i: number, coll: Collection, tx: WriteTx) => void): { errors: Doc[] } {
  const name = collectionName(ctx, Object.keys(ctx.cmd)[0]);
  const list = statements(ctx, field);
  const ordered = ctx.cmd.ordered !== false;
  const tx = new WriteTx();
  const coll = ctx.engine.ensure(ctx.db, name, tx);
  const errors: Doc[] = [];
  for (let i = 0; i < list.length; i++) {
    try {
      each(list[i], i, coll, tx);
    } catch (err) {
      errors.push(writeError(i, err));
      if (ordered) break;
    }
  }
  ctx.engine.commit(tx);
  return { errors };
}

function withErrors(reply: Doc, errors: Doc[]): Doc {
  if (errors.length) reply.writeErrors = errors;
  reply.ok = 1;
  return reply;
}

const insert: Handler = (ctx) => {
  let n = 0;
  let fields: ReadonlySet<string> | undefined;
  const { errors } = runStatements(ctx, 'documents', (doc, i, coll, tx) => {
    // a validator reads any field: the document is decoded whole
    if (i === 0) fields = validates(coll) ? undefined : coll.fieldsIndexed();
    const decoded = doc instanceof InsertBytes ? decodeFields(doc.bytes, fields) : doc;
    let prepared = prepareInsert(decoded);
    // A partly decoded document must be stored as its bytes; if preparing it built a new object, decode it all.
    if (prepared !== decoded && doc instanceof InsertBytes && fields) prepared = prepareInsert(decodeFields(doc.bytes, undefined));
    validate(coll, prepared);
    coll.insert(prepared, tx);
    trimCapped(coll, tx);
    n++;
  });
  return withErrors({ n }, errors);
};

/**
 * Whether an update changed the document's bytes. A result too large to encode at all is a change: the
 * write's own size check then refuses it as mongod does (17419), rather than the encoder's 10334.
 */
function changedBytes(doc: Doc, next: Doc): boolean {
  try {
    return !bsonOf(doc).equals(bsonOf(next));
  } catch (err) {
    if (err instanceof CommandError && err.code === 10334) return true;
    throw err;
  }
}

/** Applies one update statement; returns matched/modified counts and the upserted _id if any. */
function updateOne(
  coll: Collection,
  tx: WriteTx,
  q: Doc,
  u: unknown,
  opts: { multi: boolean; upsert: boolean; arrayFilters?: Doc[]; sort?: Doc; hint?: unknown },
): { n: number; nModified: number; upserted?: unknown; before?: Doc; after?: Doc } {
  checkHint(coll, opts.hint);
  if (opts.multi && u && !Array.isArray(u) && !isOperatorUpdate(u)) {
    throw new CommandError(9, 'FailedToParse', 'multi update is not supported for replacement-style update');
  }
  const matched = runQuery(coll, q, { limit: opts.multi ? 0 : 1, sort: parseSort(opts.sort) }).docs;
  let nModified = 0;
  let last: { before: Doc; after: Doc } | undefined;
  for (const doc of matched) {
    const next = applyUpdate(doc, u, { filter: q, arrayFilters: opts.arrayFilters, inserting: false });
    // mongod counts a change of type (Int32 5 → Int64 5) or of field order as a modification: compare bytes
    if (changedBytes(doc, next)) {
      validate(coll, next, doc);
      coll.replace(doc, next, tx);
      nModified++;
    }
    last = { before: doc, after: next };
  }
  if (matched.length === 0 && opts.upsert) {
    const seed = upsertSeed(q);
    const created = withId(applyUpdate(seed, u, { filter: q, arrayFilters: opts.arrayFilters, inserting: true }));
    validate(coll, created);
    coll.insert(created, tx, 'upsert');
    trimCapped(coll, tx);
    return { n: 1, nModified: 0, upserted: created._id, after: created };
  }
  return { n: matched.length, nModified, ...last };
}

const update: Handler = (ctx) => {
  let n = 0;
  let nModified = 0;
  const upserted: Doc[] = [];
  const { errors } = runStatements(ctx, 'updates', (stmt, i, coll, tx) => {
    const r = updateOne(coll, tx, optionalDoc(stmt.q, 'q') ?? {}, stmt.u, {
      multi: Boolean(stmt.multi),
      upsert: Boolean(stmt.upsert),
      arrayFilters: stmt.arrayFilters as Doc[] | undefined,
      sort: optionalDoc(stmt.sort, 'sort'),
      hint: stmt.hint,
    });
    n += r.n;
    nModified += r.nModified;
    if (r.upserted !== undefined) upserted.push({ index: i, _id: r.upserted });
  });
  const reply: Doc = { n, nModified };
  if (upserted.length) reply.upserted = upserted;
  return withErrors(reply, errors);
};

const del: Handler = (ctx) => {
  let n = 0;
  const { errors } = runStatements(ctx, 'deletes', (stmt, _i, coll, tx) => {
    const limit = optionalNumber(stmt.limit, 'limit') ?? 0;
    if (limit !== 0 && limit !== 1) throw new CommandError(9, 'FailedToParse', 'The limit field in delete objects must be 0 or 1. Got ' + limit);
    checkHint(coll, stmt.hint);
    // removing a document reads only its indexed fields: the rest is never decoded
    const fields = coll.fieldsIndexed();
    const docs = runQuery(coll, optionalDoc(stmt.q, 'q') ?? {}, { limit, ...(fields ? { fields } : {}) }).docs;
    for (const d of docs) coll.remove(d, tx);
    n += docs.length;
  });
  return withErrors({ n }, errors);
};

const findAndModify: Handler = (ctx) => {
  const name = collectionName(ctx, Object.keys(ctx.cmd)[0]);
  const { cmd } = ctx;
  const q = optionalDoc(cmd.query, 'query') ?? {};
  const remove = Boolean(cmd.remove);
  const hasUpdate = cmd.update !== undefined;
  if (remove && hasUpdate) throw new CommandError(9, 'FailedToParse', 'Cannot specify both an update and remove=true');
  if (!remove && !hasUpdate) throw new CommandError(9, 'FailedToParse', 'Either an update or remove=true must be specified');
  if (remove && cmd.upsert) throw new CommandError(9, 'FailedToParse', 'Cannot specify both upsert=true and remove=true');
  const project = compileProjection(cmd.fields, q);
  const shape = (d: Doc | undefined): Doc | null => (d ? (project ? project(d) : d) : null);
  const tx = new WriteTx();
  const coll = ctx.engine.ensure(ctx.db, name, tx);
  const sort = optionalDoc(cmd.sort, 'sort');
  let reply: Doc;
  try {
    reply = remove ? removeOne() : updateAndReturn();
  } finally {
    ctx.engine.commit(tx);
  }
  return reply;

  function removeOne(): Doc {
    checkHint(coll, cmd.hint);
    const doc = runQuery(coll, q, { limit: 1, sort: parseSort(sort) }).docs[0];
    if (doc) coll.remove(doc, tx);
    return { lastErrorObject: { n: doc ? 1 : 0 }, value: shape(doc), ok: 1 };
  }

  function updateAndReturn(): Doc {
    const r = updateOne(coll, tx, q, cmd.update, {
      multi: false,
      upsert: Boolean(cmd.upsert),
      arrayFilters: cmd.arrayFilters as Doc[] | undefined,
      sort,
      hint: cmd.hint,
    });
    const lastErrorObject: Doc = { n: r.n, updatedExisting: r.upserted === undefined && r.n > 0 };
    if (r.upserted !== undefined) lastErrorObject.upserted = r.upserted;
    const value = cmd.new ? r.after : r.upserted !== undefined ? undefined : r.before;
    return { lastErrorObject, value: shape(value), ok: 1 };
  }
};

export const writeCommands: Record<string, Handler> = {
  insert,
  update,
  delete: del,
  findAndModify,
  findandmodify: findAndModify,
};
