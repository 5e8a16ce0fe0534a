/**
 * Entry of the import worker (see worker.ts): reads and plans the file given in workerData, asking the
 * parent for the stored points of each batch and posting the chunks to stage, waiting for the parent's
 * `ack` once READ_AHEAD of them are unanswered.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Camera } from '../../contracts/cameras';
import { planFile } from './plan-file';
import { ImportTooLargeError } from './read';
import { TableError } from './table';
import { READ_AHEAD, type FromWorker, type ToWorker, type WorkerData } from './worker';

const port = parentPort;
if (!port) throw new Error('worker-main.ts runs as a worker thread only');
const { file, opts, setup } = workerData as WorkerData;
const send = (m: FromWorker): void => port.postMessage(m);

let inFlight = 0;
let wake: (() => void) | null = null;
let answer: ((cameras: Camera[]) => void) | null = null;
port.on('message', (m: ToWorker) => {
  if (m.type === 'found') {
    const a = answer;
    answer = null;
    a?.(m.cameras);
    return;
  }
  inFlight--;
  const w = wake;
  wake = null;
  w?.();
});

planFile(file, opts, setup, {
  meta: (meta) => send({ type: 'meta', meta }),
  lookup: (codes) => {
    if (codes.length === 0) return Promise.resolve([]);
    return new Promise<Camera[]>((resolve) => {
      answer = resolve;
      send({ type: 'lookup', codes });
    });
  },
  planned: async (rowsDone, bytes, chunks) => {
    send({ type: 'planned', rowsDone, bytes, chunks });
    inFlight++;
    while (inFlight >= READ_AHEAD) await new Promise<void>((r) => (wake = r));
  },
}).then(
  (outcome) => send({ type: 'done', outcome }),
  (err: unknown) => {
    const kind = err instanceof TableError ? 'table' : err instanceof ImportTooLargeError ? 'too_large' : 'internal';
    send({ type: 'failed', kind, message: err instanceof Error ? err.message : String(err) });
  },
);
