/**
 * Entry of the import's reading worker (see worker.ts): reads the file given in workerData and posts its
 * rows in batches, waiting for the parent's `ack` once READ_AHEAD batches are unanswered.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ImportTooLargeError, readImportFile } from './read';
import { TableError } from './table';
import { READ_AHEAD, type FromReader, type ReaderWorkerData, type ToReader } from './worker';

const port = parentPort;
if (!port) throw new Error('worker-main.ts runs as a worker thread only');
const { file, opts } = workerData as ReaderWorkerData;
const send = (m: FromReader): void => port.postMessage(m);

let inFlight = 0;
let wake: (() => void) | null = null;
port.on('message', (m: ToReader) => {
  if (m.type !== 'ack') return;
  inFlight--;
  const w = wake;
  wake = null;
  w?.();
});

readImportFile(file, opts, {
  meta: (meta) => send({ type: 'meta', meta }),
  rows: async (rows, bytes) => {
    send({ type: 'rows', rows, bytes });
    inFlight++;
    while (inFlight >= READ_AHEAD) await new Promise<void>((r) => (wake = r));
  },
}).then(
  (r) => send({ type: 'done', rows: r.rows, skipped: r.skipped }),
  (err: unknown) => {
    const kind = err instanceof TableError ? 'table' : err instanceof ImportTooLargeError ? 'too_large' : 'internal';
    send({ type: 'failed', kind, message: err instanceof Error ? err.message : String(err) });
  },
);
