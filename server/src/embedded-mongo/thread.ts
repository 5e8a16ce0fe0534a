import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { mongoUri, type EmbeddedMongo, type EmbeddedMongoOptions } from './index';
import { DataDirLockedError } from './lock';

/**
 * The embedded store in a worker thread of this process: the same server (same data directory, lock,
 * durability), with its own event loop and heap. With 300,000 points the store's documents and indexes
 * are gigabytes of heap; in the main thread every major GC of them, and every command the store applies,
 * would pause the polling engine and the HTTP/Socket.IO server. In its own thread it runs on the other
 * core and its GC pauses only itself. The app talks to it through the wire protocol exactly as to a real
 * MongoDB (on a Unix socket in the data directory, see store/connection.ts).
 */
export type EmbeddedMongoThread = Pick<EmbeddedMongo, 'host' | 'port' | 'socketPath' | 'uri' | 'close'>;

export type ToThread = { type: 'close' };
export type FromThread =
  | { type: 'ready'; host: string; port: number; socketPath?: string }
  | { type: 'failed'; message: string; locked?: { dir: string; pid: number } }
  | { type: 'log'; level: 'debug' | 'info' | 'warn' | 'error'; msg: string; fields?: Record<string, unknown> }
  | { type: 'closed'; error?: string };

export interface ThreadOptions extends EmbeddedMongoOptions {
  /** Called when the thread ends without close() (a crash inside the store): the app cannot go on. */
  onCrash?(err: Error): void;
}

function entry(): { file: string; execArgv?: string[] } {
  // Compiled: thread-main.js next to this file. From source (tsx, mocha): the .ts file, with tsx's hook
  // registered in the worker too (a hook loaded by `require` in the parent does not reach workers).
  if (path.extname(__filename) === '.ts') {
    // Only tsx's CommonJS hook: the parent's own flags may carry ESM loader hooks that do not serve a
    // worker's .ts entry.
    return { file: path.join(__dirname, 'thread-main.ts'), execArgv: ['--require', require.resolve('tsx/cjs')] };
  }
  return { file: path.join(__dirname, 'thread-main.js') };
}

export function startEmbeddedMongoThread(opts: ThreadOptions): Promise<EmbeddedMongoThread> {
  const { file, execArgv } = entry();
  const worker = new Worker(file, {
    workerData: {
      dbPath: path.resolve(opts.dbPath),
      host: opts.host,
      port: opts.port,
      socketPath: opts.socketPath,
      // a credential only: a function cannot cross into the worker
      auth: typeof opts.auth === 'function' ? opts.auth() : opts.auth,
      ttlIntervalMs: opts.ttlIntervalMs,
      forwardLogs: Boolean(opts.log),
    },
    ...(execArgv ? { execArgv } : {}),
  });
  let closing: Promise<void> | undefined;
  let ready = false;
  return new Promise<EmbeddedMongoThread>((resolve, reject) => {
    let closed: ((error?: string) => void) | undefined;
    worker.on('message', (m: FromThread) => {
      switch (m.type) {
        case 'log':
          opts.log?.(m.level, m.msg, m.fields);
          return;
        case 'failed':
          reject(m.locked ? new DataDirLockedError(m.locked.dir, m.locked.pid) : new Error(`embedded store did not start: ${m.message}`));
          return;
        case 'closed':
          closed?.(m.error);
          return;
        case 'ready': {
          ready = true;
          resolve({
            host: m.host,
            port: m.port,
            socketPath: m.socketPath,
            uri: (dbName) => mongoUri(m.socketPath ? { socketPath: m.socketPath } : { host: m.host, port: m.port }, dbName),
            close() {
              closing ??= new Promise<void>((done, fail) => {
                closed = (error) => (error ? fail(new Error(`embedded store did not close cleanly: ${error}`)) : done());
                worker.once('exit', () => done());
                worker.postMessage({ type: 'close' } satisfies ToThread);
              });
              return closing;
            },
          });
          return;
        }
      }
    });
    worker.on('error', (err: Error) => {
      if (!ready) reject(err);
      else if (!closing) opts.onCrash?.(err);
    });
    worker.on('exit', (code) => {
      if (!ready) reject(new Error(`embedded store thread exited with code ${code} before it was ready`));
      else if (!closing) opts.onCrash?.(new Error(`embedded store thread exited with code ${code}`));
    });
  });
}
