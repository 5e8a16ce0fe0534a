import { createHash } from 'node:crypto';
import os from 'node:os';
import { Long } from 'bson';
import type { Collection } from '../collection';
import { compareValues, type Doc } from '../compare';
import { CommandError } from '../errors';
import { bsonOf } from '../wire';
import { collectionName, optionalNumber, type CommandContext, type Handler } from './context';

export const MAX_BSON_OBJECT_SIZE = 16 * 1024 * 1024;
export const MAX_MESSAGE_SIZE = 48_000_000;
export const MAX_WRITE_BATCH = 100_000;
export const VERSION = '7.0.0';

const hello =
  (legacy: boolean): Handler =>
  (ctx) => {
    const reply: Doc = {};
    if (legacy) reply.ismaster = true;
    else reply.isWritablePrimary = true;
    if (ctx.cmd.helloOk) reply.helloOk = true;
    Object.assign(reply, {
      topologyVersion: { processId: ctx.server.processId, counter: Long.fromNumber(0) },
      maxBsonObjectSize: MAX_BSON_OBJECT_SIZE,
      maxMessageSizeBytes: MAX_MESSAGE_SIZE,
      maxWriteBatchSize: MAX_WRITE_BATCH,
      localTime: new Date(),
      logicalSessionTimeoutMinutes: 30,
      connectionId: ctx.connectionId,
      minWireVersion: 0,
      maxWireVersion: 21,
      readOnly: false,
      ok: 1,
    });
    return reply;
  };

function dbSize(ctx: Parameters<Handler>[0], db: string): { objects: number; dataSize: number; indexes: number; collections: number } {
  let objects = 0;
  let dataSize = 0;
  let indexes = 0;
  const colls = ctx.engine.dbs.get(db);
  for (const c of colls?.values() ?? []) {
    objects += c.docs.size;
    indexes += c.indexes.size;
    dataSize += c.docs.byteSize();
  }
  return { objects, dataSize, indexes, collections: colls?.size ?? 0 };
}

const buildInfo: Handler = () => ({
  version: VERSION,
  gitVersion: 'vigil-embedded',
  versionArray: [7, 0, 0, 0],
  bits: 64,
  debug: false,
  maxBsonObjectSize: MAX_BSON_OBJECT_SIZE,
  storageEngines: ['vigil-sqlite'],
  modules: [],
  javascriptEngine: 'none',
  sysInfo: 'deprecated',
  openssl: { running: 'disabled' },
  buildEnvironment: {},
  ok: 1,
});

/**
 * The sizes `collStats` / `$collStats` report. Documents are their BSON bytes (in memory and in SQLite);
 * index sizes are an estimate, entries × (the average encoded key + _id key), as the trees are not pages.
 */
export function storageStats(c: Collection | undefined, ns: string, scale = 1): Doc {
  const size = c?.docs.byteSize() ?? 0;
  const count = c?.docs.size ?? 0;
  const indexSizes: Doc = {};
  let totalIndexSize = 0;
  for (const ix of c?.indexes.values() ?? []) {
    const bytes = ix.name === '_id_' ? count * 24 : ix.size * (16 + 8 * ix.fields.length);
    indexSizes[ix.name] = Math.floor(bytes / scale);
    totalIndexSize += bytes;
  }
  const capped = Boolean(c?.options.capped);
  const stats: Doc = {
    ns,
    size: Math.floor(size / scale),
    count,
    avgObjSize: count ? Math.round(size / count) : 0,
    numOrphanDocs: 0,
    storageSize: Math.floor(size / scale),
    freeStorageSize: 0,
    capped,
    nindexes: c?.indexes.size ?? 0,
    indexBuilds: [],
    totalIndexSize: Math.floor(totalIndexSize / scale),
    totalSize: Math.floor((size + totalIndexSize) / scale),
    indexSizes,
    scaleFactor: scale,
  };
  if (capped) Object.assign(stats, { max: c?.options.max ?? 0, maxSize: Math.floor(Number(c?.options.size ?? 0) / scale) });
  return stats;
}

function scaleOf(v: unknown): number {
  const n = optionalNumber(v, 'scale') ?? 1;
  if (n < 1) throw new CommandError(2, 'BadValue', 'scale has to be >= 1');
  return Math.floor(n);
}

/** The operation that asks (`currentOp` / `$currentOp`): nothing else is ever in progress between commands. */
export function currentOperation(ctx: CommandContext): Doc {
  return {
    type: 'op',
    host: `${os.hostname()}:${ctx.server.port}`,
    desc: `conn${ctx.connectionId}`,
    connectionId: ctx.connectionId,
    client: ctx.remote,
    active: true,
    currentOpTime: new Date().toISOString(),
    opid: ctx.connectionId,
    secs_running: Long.fromNumber(0),
    microsecs_running: Long.fromNumber(0),
    op: 'command',
    ns: `${ctx.db}.$cmd`,
    command: ctx.cmd,
    numYields: 0,
    waitingForLock: false,
  };
}

/** md5 of the collection's documents in _id order, like mongod's dbHash. */
function collectionHash(c: Collection): string {
  const docs = [...c.docs.values()].sort((a, b) => compareValues(a._id, b._id));
  const h = createHash('md5');
  for (const d of docs) h.update(bsonOf(d));
  return h.digest('hex');
}

const NOT_REPLICATED = (): Doc => {
  throw new CommandError(76, 'NoReplicationEnabled', 'not running with --replSet');
};

export const adminCommands: Record<string, Handler> = {
  hello: hello(false),
  isMaster: hello(true),
  ismaster: hello(true),
  ping: () => ({ ok: 1 }),
  buildInfo,
  buildinfo: buildInfo,
  hostInfo: () => ({
    system: {
      currentTime: new Date(),
      hostname: os.hostname(),
      cpuAddrSize: 64,
      memSizeMB: Math.round(os.totalmem() / 1048576),
      numCores: os.cpus().length,
      cpuArch: os.arch(),
      numaEnabled: false,
    },
    os: { type: os.type(), name: os.platform(), version: os.release() },
    extra: {},
    ok: 1,
  }),
  getParameter: (ctx) => {
    const reply: Doc = {};
    const all = ctx.cmd.getParameter === '*';
    if (all || ctx.cmd.featureCompatibilityVersion !== undefined) reply.featureCompatibilityVersion = { version: '7.0' };
    if (all || ctx.cmd.authenticationMechanisms !== undefined) reply.authenticationMechanisms = [];
    if (all || ctx.cmd.logComponentVerbosity !== undefined) {
      const quiet = { verbosity: -1 };
      reply.logComponentVerbosity = {
        verbosity: 0, accessControl: quiet, command: quiet, control: quiet, executor: quiet, geo: quiet, index: quiet,
        network: quiet, query: quiet, replication: quiet, sharding: quiet, storage: quiet, write: quiet,
      };
    }
    reply.ok = 1;
    return reply;
  },
  getCmdLineOpts: (ctx) => ({
    argv: ['vigil-embedded-mongo', '--port', String(ctx.server.port), '--dbpath', ctx.server.dbPath],
    parsed: { net: { bindIp: ctx.server.host, port: ctx.server.port }, storage: { dbPath: ctx.server.dbPath } },
    ok: 1,
  }),
  serverStatus: (ctx) => ({
    host: `${os.hostname()}:${ctx.server.port}`,
    version: VERSION,
    process: 'vigil-embedded-mongo',
    pid: Long.fromNumber(process.pid),
    uptime: Math.floor(process.uptime()),
    uptimeMillis: Long.fromNumber(Date.now() - ctx.engine.startedAt.getTime()),
    localTime: new Date(),
    connections: { current: ctx.server.currentConnections(), available: 100_000, totalCreated: ctx.server.totalConnections() },
    storageEngine: { name: 'vigil-sqlite', supportsCommittedReads: false, persistent: true },
    mem: { bits: 64, resident: Math.round(process.memoryUsage().rss / 1048576) },
    ok: 1,
  }),
  listDatabases: (ctx) => {
    const names = new Set(['admin', 'config', 'local', ...ctx.engine.dbs.keys()]);
    const databases: Doc[] = [];
    let totalSize = 0;
    for (const name of [...names].sort()) {
      const s = dbSize(ctx, name);
      if (!['admin', 'config', 'local'].includes(name) && s.collections === 0) continue;
      const sizeOnDisk = Math.max(s.dataSize, 4096);
      totalSize += sizeOnDisk;
      databases.push(ctx.cmd.nameOnly ? { name } : { name, sizeOnDisk, empty: s.objects === 0 });
    }
    const filter = ctx.cmd.filter as Doc | undefined;
    const selected = filter?.name === undefined ? databases : databases.filter((d) => d.name === filter.name);
    return ctx.cmd.nameOnly ? { databases: selected, ok: 1 } : { databases: selected, totalSize, totalSizeMb: Math.round(totalSize / 1048576), ok: 1 };
  },
  endSessions: () => ({ ok: 1 }),
  killSessions: () => ({ ok: 1 }),
  killAllSessions: () => ({ ok: 1 }),
  killAllSessionsByPattern: () => ({ ok: 1 }),
  refreshSessions: () => ({ ok: 1 }),
  connectionStatus: () => ({ authInfo: { authenticatedUsers: [], authenticatedUserRoles: [] }, ok: 1 }),
  whatsmyuri: (ctx) => ({ you: ctx.remote, ok: 1 }),
  getLog: (ctx) => (ctx.cmd.getLog === '*' ? { names: ['global', 'startupWarnings'], ok: 1 } : { totalLinesWritten: 0, log: [], ok: 1 }),
  dbStats: (ctx) => {
    const s = dbSize(ctx, ctx.db);
    return {
      db: ctx.db,
      collections: s.collections,
      views: 0,
      objects: s.objects,
      avgObjSize: s.objects ? s.dataSize / s.objects : 0,
      dataSize: s.dataSize,
      storageSize: s.dataSize,
      indexes: s.indexes,
      indexSize: 0,
      totalSize: s.dataSize,
      scaleFactor: 1,
      ok: 1,
    };
  },
  collStats: (ctx) => {
    const name = collectionName(ctx, 'collStats');
    const ns = `${ctx.db}.${name}`;
    return { ...storageStats(ctx.engine.get(ctx.db, name), ns, scaleOf(ctx.cmd.scale)), ok: 1 };
  },
  validate: (ctx) => {
    const name = collectionName(ctx, 'validate');
    const c = ctx.engine.get(ctx.db, name);
    const ns = `${ctx.db}.${name}`;
    if (!c) throw new CommandError(26, 'NamespaceNotFound', `Collection '${ns}' does not exist to validate.`);
    const keysPerIndex: Doc = {};
    const indexDetails: Doc = {};
    for (const ix of c.indexes.values()) {
      keysPerIndex[ix.name] = ix.name === '_id_' ? c.docs.size : ix.size;
      indexDetails[ix.name] = { valid: true };
    }
    return {
      ns, nInvalidDocuments: 0, nNonCompliantDocuments: 0, nrecords: c.docs.size, nIndexes: c.indexes.size,
      keysPerIndex, indexDetails, valid: true, repaired: false, warnings: [], errors: [], extraIndexEntries: [],
      missingIndexEntries: [], corruptRecords: [], ok: 1,
    };
  },
  fsync: (ctx) => {
    if (ctx.cmd.lock) throw new CommandError(238, 'NotImplemented', 'fsync with lock is not supported by the embedded store');
    // every acknowledged write is already committed to SQLite (storage.ts)
    return { numFiles: 1, ok: 1 };
  },
  dbHash: (ctx) => {
    const wanted = Array.isArray(ctx.cmd.collections) ? new Set(ctx.cmd.collections.map(String)) : undefined;
    const collections: Doc = {};
    const all = createHash('md5');
    const started = Date.now();
    const colls = [...(ctx.engine.dbs.get(ctx.db)?.values() ?? [])].sort((a, b) => compareValues(a.name, b.name));
    for (const c of colls) {
      if (wanted && !wanted.has(c.name)) continue;
      const h = collectionHash(c);
      collections[c.name] = h;
      all.update(h);
    }
    return { host: `${os.hostname()}:${ctx.server.port}`, collections, capped: colls.filter((c) => c.options.capped).map((c) => c.name), uuids: {}, md5: all.digest('hex'), timeMillis: Date.now() - started, ok: 1 };
  },
  currentOp: (ctx) => ({ inprog: [currentOperation(ctx)], ok: 1 }),
  killOp: (ctx) => {
    if (ctx.cmd.op === undefined) throw new CommandError(4, 'NoSuchKey', "Missing expected field 'op'");
    return { info: 'attempting to kill op', ok: 1 };
  },
  profile: (ctx) => {
    const level = optionalNumber(ctx.cmd.profile, 'profile') ?? -1;
    if (level !== -1 && level !== 0) throw new CommandError(238, 'NotImplemented', 'profiling (levels 1 and 2) is not supported by the embedded store');
    return { was: 0, slowms: 100, sampleRate: 1, ok: 1 };
  },
  usersInfo: () => ({ users: [], ok: 1 }),
  rolesInfo: () => ({ roles: [], ok: 1 }),
  getLogComponents: (ctx) => adminCommands.getParameter({ ...ctx, cmd: { getParameter: 1, logComponentVerbosity: 1 } }),
  replSetGetStatus: NOT_REPLICATED,
  replSetGetConfig: NOT_REPLICATED,
};
