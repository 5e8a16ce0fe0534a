import os from 'node:os';
import { Long } from 'bson';
import type { Doc } from '../compare';
import type { Handler } from './context';

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
    const name = String(ctx.cmd.collStats);
    const c = ctx.engine.get(ctx.db, name);
    const size = c?.docs.byteSize() ?? 0;
    const count = c?.docs.size ?? 0;
    const indexSizes: Doc = {};
    for (const ix of c?.indexes.values() ?? []) indexSizes[ix.name] = 0;
    return {
      ns: `${ctx.db}.${name}`,
      size,
      count,
      avgObjSize: count ? Math.round(size / count) : 0,
      storageSize: size,
      nindexes: c?.indexes.size ?? 0,
      totalIndexSize: 0,
      indexSizes,
      capped: false,
      ok: 1,
    };
  },
};
