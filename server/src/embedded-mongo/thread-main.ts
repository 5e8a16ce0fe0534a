/**
 * Entry of the embedded store's worker thread (see thread.ts): starts the store in this thread and
 * answers the parent's `close`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { startEmbeddedMongo, type EmbeddedMongoOptions } from './index';
import { DataDirLockedError } from './lock';
import type { FromThread, ToThread } from './thread';

const port = parentPort;
if (!port) throw new Error('thread-main.ts runs as a worker thread only');
const opts = workerData as Omit<EmbeddedMongoOptions, 'log'> & { forwardLogs: boolean };
const send = (m: FromThread): void => port.postMessage(m);

startEmbeddedMongo({
  dbPath: opts.dbPath,
  host: opts.host,
  port: opts.port,
  socketPath: opts.socketPath,
  auth: opts.auth,
  ttlIntervalMs: opts.ttlIntervalMs,
  log: opts.forwardLogs
    ? (level, msg, fields) => {
        try {
          send({ type: 'log', level, msg, fields });
        } catch {
          send({ type: 'log', level, msg });
        }
      }
    : undefined,
}).then(
  (store) => {
    port.on('message', (m: ToThread) => {
      if (m.type !== 'close') return;
      // the port closes either way: the thread must end, or it keeps the process alive
      void store
        .close()
        .then(
          () => send({ type: 'closed' }),
          (err: unknown) => send({ type: 'closed', error: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
        )
        .finally(() => port.close());
    });
    send({ type: 'ready', host: store.host, port: store.port, socketPath: store.socketPath });
  },
  (err: unknown) => {
    send(
      err instanceof DataDirLockedError
        ? { type: 'failed', locked: { dir: err.dir, pid: err.pid }, message: err.message }
        : { type: 'failed', message: err instanceof Error ? (err.stack ?? err.message) : String(err) },
    );
    port.close();
  },
);
