import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { SourceRow } from './fields';
import { ImportTooLargeError, type FileMeta, type ReadOptions } from './read';
import { TableError } from './table';

/**
 * The import's file reading in a worker thread: decoding, CSV/XLSX/XML parsing and the table's header
 * mapping run there, on the other core, so an import never stalls the event loop that serves HTTP,
 * Socket.IO and the polling engine. Rows come back in batches; the worker reads ahead at most
 * READ_AHEAD batches (it waits for an `ack` per batch), so a slow store bounds the rows in flight.
 * The worker's heap is capped: a file that needs more to read ends the worker, not the process (413).
 */
export const READ_AHEAD = 2;
/** Heap cap of the reading worker, MiB (a streamed CSV/XLSX needs a few; a catalog XML is read whole). */
export const WORKER_HEAP_MB = 512;

export type ToReader = { type: 'ack' };
export type FromReader =
  | { type: 'meta'; meta: FileMeta }
  | { type: 'rows'; rows: SourceRow[]; bytes: number }
  | { type: 'done'; rows: number; skipped: number }
  | { type: 'failed'; kind: 'table' | 'too_large' | 'internal'; message: string };

export interface ReaderWorkerData {
  file: string;
  opts: ReadOptions;
}

export interface ReadHandlers {
  meta(meta: FileMeta): void;
  rows(rows: SourceRow[], bytesRead: number): Promise<void>;
}

function entry(): { file: string; execArgv?: string[] } {
  // as embedded-mongo/thread.ts: from source (tsx, mocha) the .ts entry with tsx's CommonJS hook
  if (path.extname(__filename) === '.ts') {
    return { file: path.join(__dirname, 'worker-main.ts'), execArgv: ['--require', require.resolve('tsx/cjs')] };
  }
  return { file: path.join(__dirname, 'worker-main.js') };
}

/** Reads `file` in a worker thread; the handlers run here, one batch at a time, in file order. */
export function readInWorker(file: string, opts: ReadOptions, handlers: ReadHandlers): Promise<{ rows: number; skipped: number }> {
  const { file: script, execArgv } = entry();
  const worker = new Worker(script, {
    workerData: { file, opts } satisfies ReaderWorkerData,
    ...(execArgv ? { execArgv } : {}),
    resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB, maxYoungGenerationSizeMb: 32 },
  });
  return new Promise((resolve, reject) => {
    let chain: Promise<void> = Promise.resolve();
    let settled = false;
    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      void worker.terminate();
      reject(err);
    };
    worker.on('message', (m: FromReader) => {
      switch (m.type) {
        case 'meta':
          chain = chain.then(() => handlers.meta(m.meta));
          return;
        case 'rows':
          chain = chain
            .then(() => handlers.rows(m.rows, m.bytes))
            .then(() => {
              if (!settled) worker.postMessage({ type: 'ack' } satisfies ToReader);
            });
          chain.catch((err: unknown) => fail(err instanceof Error ? err : new Error(String(err))));
          return;
        case 'done':
          chain.then(
            () => {
              if (settled) return;
              settled = true;
              void worker.terminate();
              resolve({ rows: m.rows, skipped: m.skipped });
            },
            (err: unknown) => fail(err instanceof Error ? err : new Error(String(err))),
          );
          return;
        case 'failed':
          fail(m.kind === 'table' ? new TableError(m.message) : m.kind === 'too_large' ? new ImportTooLargeError(m.message) : new Error(`import reader failed: ${m.message}`));
          return;
      }
    });
    worker.on('error', (err: Error & { code?: string }) => {
      if (err.code === 'ERR_WORKER_OUT_OF_MEMORY') {
        fail(new ImportTooLargeError(`reading the file needs more than the ${WORKER_HEAP_MB} MiB an import may use: split it, or use CSV`));
      } else fail(err);
    });
    worker.on('exit', (code) => fail(new Error(`import reader exited (${code}) before the end of the file`)));
  });
}
