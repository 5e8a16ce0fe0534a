import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Principal } from '../../contracts/access';
import type { Camera } from '../../contracts/cameras';
import type { RegionNode } from '../../regions/tree';
import type { ProbeDefaults } from '../schema';
import type { RowIssue } from './mapping';
import type { ImportMode } from './model';
import { ImportTooLargeError, type FileMeta, type ReadOptions } from './read';
import { TableError } from './table';

/**
 * The import's reading AND checking in a worker thread: decoding, CSV/XLSX/XML parsing, the table's header
 * mapping, and then every row's mapping onto the registry's input schema, its validation and its plan
 * (created / updated / unchanged, duplicates, upstream levels) run there, on the other core, so an import
 * never stalls the event loop that serves HTTP, Socket.IO and the polling engine. The worker asks this
 * thread for the stored points each batch names (`lookup` → `found`: the store stays this thread's), and
 * hands back the rows to stage as ready-made chunks (`StagedRow[]` as JSON). It runs at most READ_AHEAD
 * chunks ahead of the staging (it waits for an `ack` per `planned`), so a slow store bounds the rows in
 * flight. The worker's heap is capped: a file that needs more ends the worker, not the process (413).
 */
export const READ_AHEAD = 2;
/**
 * Heap cap of the worker, MiB. A catalog XML is read whole and an XLSX keeps its shared strings; a CSV is
 * streamed, so its worker needs the plan (codes seen, upstream links, levels) and a few batches: the
 * 1,000,000-row file of `npm run bench:import` plans in a 128 MiB heap (2026-12-03, once the plan's codes no
 * longer kept the file's decoded text alive — `detached` in lib/intern.ts; before, it needed more than 256).
 */
export const WORKER_HEAP_MB = 512;

/** What the worker needs to check rows as the server would: the caller, the region tree, the probe defaults. */
export interface PlanSetup {
  principal: Principal;
  mode: ImportMode;
  /** The region tree's nodes when the import started (regions/tree.ts rebuilds the same tree from them). */
  regions: RegionNode[];
  probeDefaults: ProbeDefaults;
  /** Rows per staged chunk. */
  chunkRows: number;
}

/** Rows to stage, as the chunk document holds them. `level` 0: ready; -1: waiting for an upstream row of the file. */
export interface PlannedChunk {
  level: 0 | -1;
  rows: number;
  rowsJson: string;
  regionIds: string[];
}

export interface PlanTotals {
  rows: number;
  invalid: number;
  created: number;
  updated: number;
  unchanged: number;
}

export interface PlanOutcome {
  skipped: number;
  totals: PlanTotals;
  /** The level of each row that waited for an upstream row of the file (code → level ≥ 1). */
  levels: Array<[string, number]>;
  errors: RowIssue[];
  errorsTruncated: boolean;
}

export type ToWorker = { type: 'ack' } | { type: 'found'; cameras: Camera[] };
export type FromWorker =
  | { type: 'meta'; meta: FileMeta }
  | { type: 'lookup'; codes: string[] }
  | { type: 'planned'; rowsDone: number; bytes: number; chunks: PlannedChunk[] }
  | { type: 'done'; outcome: PlanOutcome }
  | { type: 'failed'; kind: 'table' | 'too_large' | 'internal'; message: string };

export interface WorkerData {
  file: string;
  opts: ReadOptions;
  setup: PlanSetup;
}

export interface PlanHandlers {
  meta(meta: FileMeta): void;
  /** The stored points with these codes (no visibility filter: the worker applies the rule itself). */
  lookup(codes: string[]): Promise<Camera[]>;
  /** Rows read and checked so far, and the chunks to stage (in file order, one call at a time). */
  planned(rowsDone: number, bytesRead: number, chunks: PlannedChunk[]): Promise<void>;
}

function entry(): { file: string; execArgv?: string[] } {
  // as embedded-mongo/thread.ts: from source (tsx, mocha) the .ts entry with tsx's CommonJS hook
  if (path.extname(__filename) === '.ts') {
    return { file: path.join(__dirname, 'worker-main.ts'), execArgv: ['--require', require.resolve('tsx/cjs')] };
  }
  return { file: path.join(__dirname, 'worker-main.js') };
}

/** Reads and plans `file` in a worker thread; the handlers run here, in file order. */
export function planInWorker(file: string, opts: ReadOptions, setup: PlanSetup, handlers: PlanHandlers, heapMb: number): Promise<PlanOutcome> {
  const { file: script, execArgv } = entry();
  const worker = new Worker(script, {
    workerData: { file, opts, setup } satisfies WorkerData,
    ...(execArgv ? { execArgv } : {}),
    resourceLimits: { maxOldGenerationSizeMb: heapMb, maxYoungGenerationSizeMb: 32 },
  });
  const send = (m: ToWorker): void => worker.postMessage(m);
  return new Promise((resolve, reject) => {
    let chain: Promise<void> = Promise.resolve();
    let settled = false;
    const fail = (err: unknown): void => {
      if (settled) return;
      settled = true;
      void worker.terminate();
      reject(err instanceof Error ? err : new Error(String(err)));
    };
    worker.on('message', (m: FromWorker) => {
      switch (m.type) {
        case 'meta':
          chain = chain.then(() => handlers.meta(m.meta));
          chain.catch(fail);
          return;
        case 'lookup':
          // not queued behind the staging: reading stored points and staging rows touch different collections
          handlers.lookup(m.codes).then((cameras) => {
            if (!settled) send({ type: 'found', cameras });
          }, fail);
          return;
        case 'planned':
          chain = chain
            .then(() => handlers.planned(m.rowsDone, m.bytes, m.chunks))
            .then(() => {
              if (!settled) send({ type: 'ack' });
            });
          chain.catch(fail);
          return;
        case 'done':
          chain.then(
            () => {
              if (settled) return;
              settled = true;
              void worker.terminate();
              resolve(m.outcome);
            },
            fail,
          );
          return;
        case 'failed':
          fail(m.kind === 'table' ? new TableError(m.message) : m.kind === 'too_large' ? new ImportTooLargeError(m.message) : new Error(`import worker failed: ${m.message}`));
          return;
      }
    });
    worker.on('error', (err: Error & { code?: string }) => {
      if (err.code === 'ERR_WORKER_OUT_OF_MEMORY') {
        fail(new ImportTooLargeError(`reading the file needs more than the ${heapMb} MiB an import may use: split it`));
      } else fail(err);
    });
    worker.on('exit', (code) => fail(new Error(`import worker exited (${code}) before the end of the file`)));
  });
}
