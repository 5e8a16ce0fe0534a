import os from 'node:os';
import { Long } from 'bson';
import { ProcessingMode } from '../mingo';
import { WriteTx, type Collection } from '../collection';
import { compareValues, parseSort, pathValues, toNumber, type Doc } from '../compare';
import { CommandError } from '../errors';
import { compileProjection } from '../projection';
import { countQuery, explainPlan, plan, runQuery } from '../query';
import { cloneDoc, withId } from '../update';
import { currentOperation, storageStats } from './admin';
import { bucketAsGroup, runPipeline } from './bucket';
import { simpleGroup } from './group';
import { checkHint, collectionName, optionalDoc, optionalNumber, type CommandContext, type Handler } from './context';

const find: Handler = (ctx) => {
  const name = collectionName(ctx, 'find');
  const { cmd } = ctx;
  const filter = optionalDoc(cmd.filter, 'filter') ?? {};
  let limit = optionalNumber(cmd.limit, 'limit') ?? 0;
  let singleBatch = Boolean(cmd.singleBatch);
  if (limit < 0) {
    limit = -limit;
    singleBatch = true;
  }
  const skip = optionalNumber(cmd.skip, 'skip') ?? 0;
  if (skip < 0) throw new CommandError(51024, 'Location51024', "BSON field 'skip' value must be >= 0, actual value '" + skip + "'");
  const project = compileProjection(cmd.projection, filter);
  checkHint(ctx.engine.get(ctx.db, name), cmd.hint);
  const r = runQuery(ctx.engine.get(ctx.db, name), filter, { sort: parseSort(cmd.sort), skip, limit, raw: true });
  const cursor = ctx.engine.cursors.first(`${ctx.db}.${name}`, r.docs, {
    batchSize: optionalNumber(cmd.batchSize, 'batchSize'),
    singleBatch,
    project,
  });
  return { cursor, ok: 1 };
};

const getMore: Handler = (ctx) => {
  const id = toNumber(ctx.cmd.getMore);
  const coll = collectionName(ctx, 'collection');
  return { cursor: ctx.engine.cursors.getMore(id, `${ctx.db}.${coll}`, optionalNumber(ctx.cmd.batchSize, 'batchSize')), ok: 1 };
};

const killCursors: Handler = (ctx) => {
  const ids = ((ctx.cmd.cursors as unknown[]) ?? []).map(toNumber);
  const { killed, notFound } = ctx.engine.cursors.kill(ids);
  return { cursorsKilled: killed, cursorsNotFound: notFound, cursorsAlive: [], cursorsUnknown: [], ok: 1 };
};

const count: Handler = (ctx) => {
  const name = collectionName(ctx, 'count');
  const coll = ctx.engine.get(ctx.db, name);
  const query = optionalDoc(ctx.cmd.query, 'query') ?? {};
  const skip = optionalNumber(ctx.cmd.skip, 'skip') ?? 0;
  const limit = Math.abs(optionalNumber(ctx.cmd.limit, 'limit') ?? 0);
  checkHint(coll, ctx.cmd.hint);
  let n = countQuery(coll, query);
  n = Math.max(0, n - skip);
  if (limit > 0) n = Math.min(n, limit);
  return { n, ok: 1 };
};

const distinct: Handler = (ctx) => {
  const name = collectionName(ctx, 'distinct');
  const key = ctx.cmd.key;
  if (typeof key !== 'string') throw new CommandError(14, 'TypeMismatch', "BSON field 'distinct.key' is the wrong type, expected type 'string'");
  const docs = runQuery(ctx.engine.get(ctx.db, name), optionalDoc(ctx.cmd.query, 'query') ?? {}).docs;
  const values: unknown[] = [];
  for (const d of docs) for (const v of pathValues(d, key)) if (v !== undefined) values.push(v);
  values.sort(compareValues);
  const out = values.filter((v, i) => i === 0 || compareValues(v, values[i - 1]) !== 0);
  return { values: out, ok: 1 };
};

/** `$count` as mongod defines it ($group + $project), so an empty input yields no document (mingo gives {n: 0}). */
function rewriteStages(stages: Doc[], nested = false): Doc[] {
  return stages.flatMap((s): Doc[] => {
    const [name] = Object.keys(s);
    if (name === '$count') return [{ $group: { _id: null, [String(s.$count)]: { $sum: 1 } } }, { $project: { _id: 0 } }];
    if (name === '$facet') {
      const facets: Doc = {};
      for (const [k, p] of Object.entries(s.$facet as Doc)) facets[k] = Array.isArray(p) ? rewriteStages(p as Doc[], true) : p;
      return [{ $facet: facets }];
    }
    // inside $facet and $lookup mingo runs the pipeline: $bucket becomes mongod's own definition of it
    if (name === '$bucket' && nested) return bucketAsGroup(s.$bucket as Doc);
    if (name === '$lookup' && Array.isArray((s.$lookup as Doc).pipeline)) {
      return [{ $lookup: { ...(s.$lookup as Doc), pipeline: rewriteStages((s.$lookup as Doc).pipeline as Doc[], true) } }];
    }
    return [s];
  });
}

/** mingo's errors carry no codes; map the ones with a documented mongod code. */
function aggregationError(err: unknown): CommandError {
  if (err instanceof CommandError) return err;
  const msg = (err as Error).message ?? String(err);
  const unknownStage = /unregistered pipeline operator (\$\w+)/.exec(msg);
  if (unknownStage) return new CommandError(40324, 'Location40324', `Unrecognized pipeline stage name: '${unknownStage[1]}'`);
  if (msg.includes('$replaceRoot expression must return an object')) {
    return new CommandError(40228, 'Location40228', "'newRoot' expression must evaluate to an object");
  }
  if (msg.includes('$bucket require a default') || msg.includes('$switch could not find a matching branch')) {
    return new CommandError(40066, 'Location40066', '$switch could not find a matching branch for an input, and no default was specified.');
  }
  return new CommandError(2, 'BadValue', msg);
}

/** Stages that never modify their input documents, so stored documents can be fed to mingo uncloned. */
const NON_MUTATING = new Set(['$match', '$sort', '$limit', '$skip', '$count', '$group', '$sortByCount', '$bucketAuto']);

const aggregate: Handler = (ctx) => {
  const { cmd } = ctx;
  const pipeline = cmd.pipeline;
  if (!Array.isArray(pipeline)) throw new CommandError(14, 'TypeMismatch', "'pipeline' option must be specified as an array");
  const stages = pipeline as Doc[];
  if (stages.some((s) => s && '$changeStream' in s)) {
    throw new CommandError(40573, 'Location40573', 'The $changeStream stage is only supported on replica sets');
  }
  if (cmd.cursor === undefined && !cmd.explain) {
    throw new CommandError(9, 'FailedToParse', "The 'cursor' option is required, except for aggregate with the explain argument");
  }
  const stageIndex = (stage: string): number => stages.findIndex((s) => s && stage in s);
  for (const stage of ['$collStats', '$currentOp']) {
    if (stageIndex(stage) > 0) throw new CommandError(40602, 'Location40602', `${stage} is only valid as the first stage in a pipeline`);
  }
  const dbLevel = stageIndex('$currentOp') === 0;
  if (typeof cmd.aggregate !== 'string' && !(dbLevel && toNumber(cmd.aggregate) === 1)) {
    throw new CommandError(73, 'InvalidNamespace', 'aggregate with a database-level source is not supported by the embedded store');
  }
  const name = dbLevel ? '$cmd.aggregate' : String(cmd.aggregate);
  const coll = dbLevel ? undefined : ctx.engine.get(ctx.db, name);
  checkHint(coll, cmd.hint);
  const reply = (docs: Doc[]): Doc => {
    const cursorOpts = optionalDoc(cmd.cursor, 'cursor') ?? {};
    return { cursor: ctx.engine.cursors.first(`${ctx.db}.${name}`, docs, { batchSize: optionalNumber(cursorOpts.batchSize, 'batchSize') }), ok: 1 };
  };
  let rest = stages;
  const source = sourceStage(ctx, stages[0], name, coll);
  if (source) {
    rest = rewriteStages(stages.slice(1));
    try {
      return reply(rest.length ? runPipeline(source, rest, { processingMode: ProcessingMode.CLONE_INPUT }) : source);
    } catch (err) {
      throw aggregationError(err);
    }
  }
  let out: Doc | string | undefined;
  const last = rest[rest.length - 1];
  if (last && ('$out' in last || '$merge' in last)) {
    if ('$merge' in last) throw new CommandError(238, 'NotImplemented', '$merge is not supported by the embedded store');
    out = last.$out as Doc | string;
    rest = rest.slice(0, -1);
  }
  // Leading $match/$sort/$skip/$limit run through the planner so they can use indexes.
  const filters: Doc[] = [];
  while (rest[0] && '$match' in rest[0]) {
    filters.push(rest[0].$match as Doc);
    rest = rest.slice(1);
  }
  let sort: Doc | undefined;
  let skip = 0;
  let limit = 0;
  if (rest[0] && '$sort' in rest[0]) {
    sort = rest[0].$sort as Doc;
    rest = rest.slice(1);
  }
  // with or without a sort: countDocuments({…}, { limit }) sends [$match, $limit, $group], and a capped
  // count must stop at the limit instead of matching everything first
  if (rest[0] && '$skip' in rest[0]) {
    skip = toNumber(rest[0].$skip);
    rest = rest.slice(1);
  }
  if (rest[0] && '$limit' in rest[0]) {
    limit = toNumber(rest[0].$limit);
    rest = rest.slice(1);
  }
  const filter = filters.length === 0 ? {} : filters.length === 1 ? filters[0] : { $and: filters };
  if (cmd.explain) {
    return { ...explainPlan(coll ? plan(coll, filter, parseSort(sort)) : { stage: 'COLLSCAN', scans: [], sorted: true, reverse: false }), ok: 1 };
  }
  if (isCountPipeline(rest) && !sort && out === undefined) {
    // countDocuments(): [$match, $group {_id: <constant>, n: {$sum: 1}}] answered without reading documents.
    const group = rest[0].$group as Doc;
    const field = Object.keys(group).find((k) => k !== '_id')!;
    const n = Math.max(0, countQuery(coll, filter, limit ? skip + limit : 0) - skip);
    const docs = n > 0 ? [{ _id: group._id, [field]: n }] : [];
    return reply(docs);
  }
  if (rest.length === 1 && '$group' in rest[0] && !sort && out === undefined) {
    const grouped = simpleGroup(() => runQuery(coll, filter, { raw: true }).docs, rest[0].$group as Doc);
    if (grouped) {
      return reply(grouped);
    }
  }
  const base = runQuery(coll, filter, { sort: parseSort(sort), skip, limit }).docs;
  let result: Doc[] = base;
  if (rest.length) {
    const safe = rest.every((s) => NON_MUTATING.has(Object.keys(s)[0]));
    rest = rewriteStages(rest);
    const options = {
      processingMode: safe ? ProcessingMode.CLONE_OFF : ProcessingMode.CLONE_INPUT,
      collectionResolver: (other: string) => [...(ctx.engine.get(ctx.db, other)?.docs.values() ?? [])].map(cloneDoc),
    };
    try {
      result = runPipeline(base, rest, options);
    } catch (err) {
      throw aggregationError(err);
    }
  }
  if (out !== undefined) {
    writeOut(ctx, out, result);
    result = [];
  }
  return reply(result);
};

/** The documents of a first stage that is a source of its own ($collStats, $currentOp), else undefined. */
function sourceStage(ctx: CommandContext, first: Doc | undefined, name: string, coll: Collection | undefined): Doc[] | undefined {
  if (!first) return undefined;
  if ('$currentOp' in first) return [currentOperation(ctx)];
  if (!('$collStats' in first)) return undefined;
  const spec = optionalDoc(first.$collStats, '$collStats') ?? {};
  const ns = `${ctx.db}.${name}`;
  const out: Doc = { ns, host: `${os.hostname()}:${ctx.server.port}`, localTime: new Date() };
  if (spec.storageStats !== undefined) {
    if (!coll) throw new CommandError(26, 'NamespaceNotFound', `Unable to retrieve storageStats in $collStats stage :: caused by :: Collection [${ns}] not found.`);
    out.storageStats = storageStats(coll, ns, Math.max(1, Math.floor(optionalNumber((spec.storageStats as Doc).scale, 'scale') ?? 1)));
  }
  if (spec.count !== undefined) {
    if (!coll) throw new CommandError(26, 'NamespaceNotFound', `Unable to retrieve count in $collStats stage :: caused by :: Collection [${ns}] not found.`);
    out.count = coll.docs.size;
  }
  if (spec.latencyStats !== undefined) {
    const zero = { latency: Long.fromNumber(0), ops: Long.fromNumber(0) };
    out.latencyStats = { reads: zero, writes: zero, commands: zero, transactions: zero };
  }
  if (spec.queryExecStats !== undefined) out.queryExecStats = { collectionScans: { total: Long.fromNumber(coll?.stats.collscans ?? 0), nonTailable: Long.fromNumber(coll?.stats.collscans ?? 0) } };
  return [out];
}

function isCountPipeline(stages: Doc[]): boolean {
  if (stages.length !== 1 || !('$group' in stages[0])) return false;
  const group = stages[0].$group as Doc;
  const keys = Object.keys(group);
  if (keys.length !== 2 || keys[0] !== '_id') return false;
  const id = group._id;
  if (id !== null && typeof id !== 'number' && !(typeof id === 'string' && !id.startsWith('$'))) return false;
  const acc = group[keys[1]] as Doc | undefined;
  return Boolean(acc) && typeof acc === 'object' && Object.keys(acc).length === 1 && acc.$sum === 1;
}

function writeOut(ctx: CommandContext, target: Doc | string, docs: Doc[]): void {
  const db = typeof target === 'string' ? ctx.db : typeof target.db === 'string' ? target.db : ctx.db;
  const name = typeof target === 'string' ? target : typeof target.coll === 'string' ? target.coll : '';
  const existing = ctx.engine.get(db, name);
  const specs = existing ? [...existing.indexes.values()].map((i) => i.spec) : [];
  ctx.engine.drop(db, name);
  const tx = new WriteTx();
  const coll = ctx.engine.ensure(db, name, tx);
  for (const spec of specs) if (spec.name !== '_id_') coll.addIndex(spec);
  for (const d of docs) coll.insert(withId(cloneDoc(d)), tx);
  tx.ops.unshift({ t: 'meta', ns: coll.ns, meta: coll.meta() });
  ctx.engine.commit(tx);
}

const explain: Handler = (ctx) => {
  const inner = optionalDoc(ctx.cmd.explain, 'explain');
  if (!inner) throw new CommandError(9, 'FailedToParse', 'explain requires a command');
  const verb = Object.keys(inner)[0];
  const name = String(inner[verb]);
  const coll = ctx.engine.get(ctx.db, name);
  const filter = (verb === 'find' ? inner.filter : verb === 'count' ? inner.query : verb === 'aggregate' ? ((inner.pipeline as Doc[])?.[0]?.$match) : (inner.q ?? inner.query)) as Doc | undefined;
  const sort = parseSort(inner.sort);
  if (!coll) return { queryPlanner: { namespace: `${ctx.db}.${name}`, winningPlan: { stage: 'EOF' }, rejectedPlans: [] }, ok: 1 };
  const p = plan(coll, filter ?? {}, sort);
  const executed = ctx.cmd.verbosity === 'queryPlanner' ? undefined : runQuery(coll, filter ?? {}, { sort, limit: optionalNumber(inner.limit, 'limit') ?? 0 });
  const doc = explainPlan(p, executed);
  (doc.queryPlanner as Doc).namespace = `${ctx.db}.${name}`;
  return { ...doc, ok: 1 };
};

export const readCommands: Record<string, Handler> = {
  find,
  getMore,
  killCursors,
  count,
  distinct,
  aggregate,
  explain,
};
