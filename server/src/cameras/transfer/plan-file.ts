import type { Camera } from '../../contracts/cameras';
import { RegionTree } from '../../regions/tree';
import { canSeeCamera } from '../visibility';
import type { FileMeta, ReadOptions } from './read';
import { readImportFile } from './read';
import { mapContextFor, StreamPlanner, stagedRow, type PlannedRow } from './plan';
import { RegionDirectory } from './regions';
import type { PlanOutcome, PlannedChunk, PlanSetup } from './worker';

export interface PlanIO {
  meta(meta: FileMeta): void;
  lookup(codes: string[]): Promise<Camera[]>;
  /** The reader waits for it (back-pressure). */
  planned(rowsDone: number, bytesRead: number, chunks: PlannedChunk[]): Promise<void>;
}

/**
 * Reads a file and plans its rows (what the import worker runs, see worker.ts): per batch of rows read,
 * the stored points they name are looked up (`io.lookup`), each row is mapped and checked
 * (StreamPlanner), and the valid rows to write are gathered into chunks of `setup.chunkRows` handed to
 * `io.planned` ready to stage. Nothing here touches the store or the event loop of the caller.
 */
export async function planFile(file: string, opts: ReadOptions, setup: PlanSetup, io: PlanIO): Promise<PlanOutcome> {
  const dir = new RegionDirectory(new RegionTree(setup.regions));
  const { principal } = setup;
  let planner: StreamPlanner | null = null;
  let staging = setup.mode !== 'dry-run';
  let rowsDone = 0;
  let bytesRead = 0;
  let ready: PlannedRow[] = [];
  let waiting: PlannedRow[] = [];
  const chunkOf = (rows: PlannedRow[], level: 0 | -1): PlannedChunk => {
    const regionIds = new Set<string>();
    if (level === 0) for (const p of rows) regionIds.add(p.input.regionId);
    return { level, rows: rows.length, rowsJson: JSON.stringify(rows.map(stagedRow)), regionIds: [...regionIds] };
  };
  /** Full chunks (all of them at the end). */
  const take = (all: boolean): PlannedChunk[] => {
    const out: PlannedChunk[] = [];
    if (!staging) return out;
    if (ready.length >= setup.chunkRows || (all && ready.length)) {
      out.push(chunkOf(ready, 0));
      ready = [];
    }
    if (waiting.length >= setup.chunkRows || (all && waiting.length)) {
      out.push(chunkOf(waiting, -1));
      waiting = [];
    }
    return out;
  };
  const read = await readImportFile(file, opts, {
    meta: (m) => {
      planner = new StreamPlanner(principal, (p, c) => canSeeCamera(p, dir, c), mapContextFor(principal, dir, m, setup.probeDefaults));
      io.meta(m);
    },
    rows: async (rows, bytes) => {
      const plan = planner;
      if (!plan) throw new Error('import reader sent rows before the header');
      const found = await io.lookup(StreamPlanner.codesOf(rows));
      const taken = plan.take(rows, new Map(found.map((c) => [c.gbCode, c])));
      rowsDone += rows.length;
      bytesRead = bytes;
      if (staging && setup.mode === 'all-or-nothing' && plan.totals.invalid > 0) {
        // refused anyway: stop staging, and the service drops what was staged
        staging = false;
        ready = [];
        waiting = [];
      }
      if (staging) {
        for (const p of taken.ready) ready.push(p);
        for (const p of taken.waiting) waiting.push(p);
      }
      await io.planned(rowsDone, bytes, take(false));
    },
  });
  const plan = planner as StreamPlanner | null;
  if (!plan) return { skipped: read.skipped, totals: { rows: 0, invalid: 0, created: 0, updated: 0, unchanged: 0 }, levels: [], errors: [], errorsTruncated: false };
  const last = take(true);
  if (last.length) await io.planned(rowsDone, bytesRead, last);
  const levels = plan.resolve();
  const { errors, errorsTruncated } = plan.result();
  return { skipped: read.skipped, totals: { ...plan.totals }, levels: [...levels], errors, errorsTruncated };
}
