import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Types, type Connection, type Model } from 'mongoose';
import type { AuditService } from '../../audit/service';
import type { Principal } from '../../contracts/access';
import type { Camera } from '../../contracts/cameras';
import type { ImportJob, ImportPhase, ImportReport } from '../../contracts/import';
import { isObjectId } from '../../contracts/vocabulary';
import { AppError, errorBody } from '../../lib/errors';
import type { Logger } from '../../lib/logger';
import { LoopPace, noPace, type Pace } from '../../lib/pace';
import type { RegionService } from '../../regions/service';
import type { ProbeDefaults } from '../schema';
import type { CameraService } from '../service';
import type { TextEncoding } from './decode';
import { fieldLabels } from './fields';
import { importChunkModel, importJobModel, type ImportChunkDoc, type ImportJobDoc, type ImportMode, type ImportTotals, type StagedRow } from './model';
import type { ImportFormat } from './parse';
import { stagedRow, type PlannedRow } from './plan';
import { ImportTooLargeError, type FileMeta } from './read';
import { TableError } from './table';
import { planInWorker, WORKER_HEAP_MB } from './worker';

export { MAX_REPORTED_ERRORS } from './plan';

/** Rows per store round trip (the camera service's bulk upsert is built for batches of ~1,000). */
const BATCH = 1000;
/**
 * Rows per apply round trip for a large import: each round trip has a fixed cost (the service's lookup
 * by code, one store command and commit, the change feed), so 100,000 rows go in 20 batches of 5,000.
 * Imports up to 20,000 rows keep batches of 1,000.
 */
export function applyBatchSize(rows: number): number {
  return Math.min(5 * BATCH, Math.max(BATCH, Math.ceil(rows / 20)));
}
/** Finished runs kept for `GET /cameras/import/jobs/{id}`. */
const KEEP_FINISHED = 20;

export interface ImportOptions {
  mode: ImportMode;
  format?: ImportFormat;
  encoding?: TextEncoding;
  filename?: string;
}

/** Test seams: called after each applied batch / at the commit point (the crash test kills the process there). */
export interface ImportHooks {
  afterCommit?: (jobId: string) => void | Promise<void>;
  afterBatch?: (batchNo: number, jobId: string) => void | Promise<void>;
  afterStage?: (chunkNo: number, jobId: string) => void | Promise<void>;
  /** After each batch of rows read and checked (tests watch a run in progress). */
  afterRead?: (rowsDone: number, jobId: string) => void | Promise<void>;
}

export interface TransferDeps {
  cameras: CameraService;
  regions: RegionService;
  audit: AuditService;
  probeDefaults: ProbeDefaults;
  logger: Logger;
  /** IMPORT_XLSX_MAX_UNZIPPED_BYTES. */
  xlsxMaxUnzippedBytes?: number;
}

/** One import run: what `GET /cameras/import/jobs/{id}` shows of it while it runs and after. */
export class ImportRun {
  readonly id = new Types.ObjectId();
  readonly startedAt = new Date();
  phase: ImportPhase = 'upload';
  state: ImportJob['state'] = 'running';
  finishedAt: Date | null = null;
  readonly progress: ImportJob['progress'] = { bytesDone: 0, bytesTotal: null, rowsDone: 0, rowsTotal: null, rowsToApply: 0, rowsApplied: 0 };
  report: ImportReport | null = null;
  error: ImportJob['error'] = null;

  constructor(
    readonly principal: Principal,
    readonly opts: ImportOptions,
  ) {}

  view(): ImportJob {
    return {
      id: this.id.toHexString(),
      state: this.state,
      phase: this.phase,
      mode: this.opts.mode,
      filename: this.opts.filename ?? '',
      startedAt: this.startedAt.toISOString(),
      finishedAt: this.finishedAt?.toISOString() ?? null,
      progress: { ...this.progress },
      report: this.report,
      error: this.error,
    };
  }
}

/** An uploaded file on disk, removed when its run ends. */
export interface ImportFile {
  path: string;
  size: number;
}

/**
 * Bulk import of camera points. Import = read the file in a worker thread (any format, streamed) → per
 * batch of rows: read the stored points they name, map each row onto the registry's own input schema and
 * validation, plan it (created / updated / unchanged, by the registry's `changesPoint`) and stage it
 * durably → order the rows that wait for an upstream row of the file → commit → apply by idempotent
 * upserts. See model.ts for the states that make all-or-nothing survive a crash. Memory is bounded by a
 * batch plus a few dozen bytes per code of the file: neither the file nor its rows are ever held whole.
 */
export class TransferService {
  private readonly jobs: Model<ImportJobDoc>;
  private readonly chunks: Model<ImportChunkDoc>;
  /** Start-up recovery runs before any import. */
  private queue: Promise<unknown> = Promise.resolve();
  /** The running import (one at a time per registry) and the last finished ones. */
  private running: ImportRun | null = null;
  private readonly runs = new Map<string, ImportRun>();

  constructor(
    conn: Connection,
    private readonly deps: TransferDeps,
  ) {
    this.jobs = importJobModel(conn);
    this.chunks = importChunkModel(conn);
  }

  async init(): Promise<void> {
    await this.jobs.init();
    await this.chunks.init();
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * Start-up recovery, before the server takes requests: committed jobs are applied again (roll forward),
   * jobs caught while staging are dropped (nothing of theirs reached the registry).
   */
  recover(): Promise<{ rolledForward: number; aborted: number }> {
    return this.serial(async () => {
      let rolledForward = 0;
      let aborted = 0;
      for (const job of await this.jobs.collection.find<ImportJobDoc>({ state: { $in: ['staging', 'committed'] } }).sort({ createdAt: 1 }).toArray()) {
        if (job.state === 'staging') {
          await this.chunks.collection.deleteMany({ jobId: job._id });
          await this.jobs.collection.updateOne({ _id: job._id }, { $set: { state: 'aborted', finishedAt: new Date() } });
          aborted++;
          continue;
        }
        this.deps.logger.warn('import job interrupted after commit: applying it again', { jobId: job._id.toHexString(), staged: job.staged });
        const applied = await this.applyBatches(job, this.stagedBatches(job._id, applyBatchSize(job.staged)), {}, false);
        await this.finish(job, { ...job.totals, created: applied.created, updated: applied.updated, unchanged: job.totals.unchanged + applied.unchanged }, true);
        rolledForward++;
      }
      return { rolledForward, aborted };
    });
  }

  async getJob(id: string): Promise<ImportJobDoc | null> {
    if (!isObjectId(id)) return null;
    return this.jobs.collection.findOne<ImportJobDoc>({ _id: new Types.ObjectId(id) });
  }

  /**
   * Takes the registry's one import slot for a new run (phase `upload`), or refuses with 409 naming the
   * running job. The caller then uploads the file and calls `start`, or `abandon` if the upload fails.
   */
  reserve(principal: Principal, opts: ImportOptions): ImportRun {
    if (this.running) {
      const id = this.running.id.toHexString();
      throw new AppError('conflict', `an import is already running (job ${id}); wait for it to finish`, { jobId: id });
    }
    const run = new ImportRun(principal, opts);
    this.running = run;
    this.runs.set(run.id.toHexString(), run);
    return run;
  }

  /** Ends a reserved run that never started (the upload failed). */
  abandon(run: ImportRun, err: unknown): void {
    this.settle(run, err);
  }

  /** A run the principal started (others are not found). */
  job(principal: Principal, id: string): ImportJob | null {
    const run = this.runs.get(id);
    if (!run || run.principal.userId !== principal.userId) return null;
    return run.view();
  }

  /**
   * Runs a reserved import over an uploaded file (removed at the end). Resolves with the report; rejects
   * with the AppError the synchronous route answers (400 unreadable file, 413, 422 all-or-nothing).
   */
  async start(run: ImportRun, file: ImportFile, hooks: ImportHooks = {}): Promise<ImportReport> {
    try {
      await this.queue;
      const report = await this.runImport(run, file, hooks);
      this.settle(run, null, report);
      return report;
    } catch (err) {
      const e = this.settle(run, err);
      throw e;
    } finally {
      await removeImportFile(file.path);
    }
  }

  /** The whole import of a file in memory (tests, tools): written to a temporary file and run as any other. */
  async import(principal: Principal, file: Buffer, opts: ImportOptions, hooks: ImportHooks = {}): Promise<ImportReport> {
    const run = this.reserve(principal, opts);
    let tmp: string;
    try {
      tmp = await importTempFile();
      await fs.promises.writeFile(tmp, file);
    } catch (err) {
      this.abandon(run, err);
      throw err;
    }
    run.progress.bytesDone = file.length;
    run.progress.bytesTotal = file.length;
    return this.start(run, { path: tmp, size: file.length }, hooks);
  }

  private settle(run: ImportRun, err: unknown, report?: ImportReport): unknown {
    let out = err;
    if (err) {
      if (err instanceof TableError) out = new AppError('bad_request', `cannot read the file: ${err.message}`, [{ field: 'file', message: err.message }]);
      else if (err instanceof ImportTooLargeError) out = new AppError('payload_too_large', err.message, [{ field: 'file', message: err.message }]);
      const app = out instanceof AppError ? out : new AppError('internal', 'internal error');
      if (!(out instanceof AppError)) this.deps.logger.error('import failed', { jobId: run.id.toHexString(), err });
      run.error = { status: app.status, ...errorBody(app).error };
      run.state = 'failed';
    } else {
      run.report = report ?? null;
      run.state = 'done';
    }
    run.finishedAt = new Date();
    if (this.running === run) this.running = null;
    const finished = [...this.runs.values()].filter((r) => r.state !== 'running');
    for (const r of finished.slice(0, Math.max(0, finished.length - KEEP_FINISHED))) this.runs.delete(r.id.toHexString());
    return out;
  }

  private async runImport(run: ImportRun, file: ImportFile, hooks: ImportHooks): Promise<ImportReport> {
    const { principal, opts } = run;
    const started = Date.now();
    const phases: Record<string, number> = {};
    let mark = started;
    const phase = (name: string): void => {
      const now = Date.now();
      phases[name] = now - mark;
      mark = now;
    };
    run.phase = 'read';
    run.progress.bytesTotal = file.size;
    run.progress.bytesDone = 0;
    const jobId = run.id;
    const actor = { userId: principal.userId, username: principal.username };
    let meta: FileMeta | null = null;
    // staging while reading: the worker hands over chunks of valid rows to write (level 0, or -1 for rows
    // that wait for an upstream row of the file); the job document is written with the first chunk
    let jobDoc: ImportJobDoc | null = null;
    let chunkSeq = 0;
    let staged = 0;
    let waitingStaged = 0;
    const regionIds = new Set<string>();
    const stage = async (rowsJson: string, level: number): Promise<void> => {
      if (!jobDoc) {
        jobDoc = {
          _id: jobId,
          state: 'staging',
          mode: opts.mode,
          format: meta?.format ?? '',
          filename: opts.filename ?? '',
          actor,
          totals: { rows: 0, valid: 0, invalid: 0, created: 0, updated: 0, unchanged: 0, skipped: 0 },
          staged: 0,
          levels: 0,
          regionIds: [],
          createdAt: new Date(),
          committedAt: null,
          finishedAt: null,
          recoveries: 0,
        };
        await this.jobs.collection.insertOne(jobDoc);
      }
      const chunk: ImportChunkDoc = { _id: new Types.ObjectId(), jobId, seq: chunkSeq++, level, rowsJson };
      await this.chunks.collection.insertOne(chunk);
      await hooks.afterStage?.(chunkSeq, jobId.toHexString());
    };
    const pd = this.deps.probeDefaults;
    const outcome = await planInWorker(
      file.path,
      { format: opts.format, encoding: opts.encoding, filename: opts.filename, xlsxMaxUnzippedBytes: this.deps.xlsxMaxUnzippedBytes ?? 1_073_741_824, batchRows: BATCH },
      {
        principal: { ...principal },
        mode: opts.mode,
        regions: this.deps.regions.current().all(),
        probeDefaults: {
          PROBE_DEFAULT_KIND: pd.PROBE_DEFAULT_KIND,
          PROBE_DEFAULT_INTERVAL_SEC: pd.PROBE_DEFAULT_INTERVAL_SEC,
          PROBE_DEFAULT_TIMEOUT_MS: pd.PROBE_DEFAULT_TIMEOUT_MS,
          PROBE_DEFAULT_RETRIES: pd.PROBE_DEFAULT_RETRIES,
          ...(pd.PROBE_DENY_CIDRS ? { PROBE_DENY_CIDRS: pd.PROBE_DENY_CIDRS.map((c) => ({ ...c })) } : {}),
        },
        chunkRows: BATCH,
      },
      {
        meta: (m) => {
          meta = m;
        },
        lookup: (codes) => this.deps.cameras.findByGbCodes(codes),
        planned: async (rowsDone, bytes, chunks) => {
          run.progress.rowsDone = rowsDone;
          run.progress.bytesDone = Math.max(run.progress.bytesDone, bytes);
          for (const c of chunks) {
            if (c.level === 0) staged += c.rows;
            else waitingStaged += c.rows;
            for (const id of c.regionIds) regionIds.add(id);
            await stage(c.rowsJson, c.level);
          }
          await hooks.afterRead?.(run.progress.rowsDone, jobId.toHexString());
        },
      },
      WORKER_HEAP_MB,
    );
    const fileMeta = meta as FileMeta | null;
    if (!fileMeta) throw new TableError('the file has no rows');
    run.progress.bytesDone = file.size;
    run.progress.rowsTotal = outcome.totals.rows;
    phase('read');
    run.phase = 'stage';
    const levels = new Map(outcome.levels);
    const { errors, errorsTruncated } = outcome;
    const t = outcome.totals;
    const totals: ImportTotals = {
      rows: t.rows,
      valid: t.rows - t.invalid,
      invalid: t.invalid,
      created: t.created,
      updated: t.updated,
      unchanged: t.unchanged,
      skipped: outcome.skipped,
    };
    const report: ImportReport = {
      jobId: null,
      mode: opts.mode,
      format: fileMeta.format,
      encoding: fileMeta.encoding,
      applied: false,
      totals,
      errors,
      errorsTruncated,
      ignoredColumns: fileMeta.ignoredColumns,
    };
    const drop = async (): Promise<void> => {
      if (!jobDoc) return;
      await this.chunks.collection.deleteMany({ jobId });
      await this.jobs.collection.deleteOne({ _id: jobId });
    };
    if (opts.mode === 'dry-run') {
      this.deps.logger.info('import checked', { mode: opts.mode, rows: totals.rows, invalid: totals.invalid, ms: Date.now() - started, phases });
      return report;
    }
    if (opts.mode === 'all-or-nothing' && totals.invalid > 0) {
      await drop();
      throw new AppError('validation_failed', `${totals.invalid} of ${totals.rows} rows are invalid; nothing was imported (mode all-or-nothing)`, report);
    }

    // rows waiting for an upstream row of the file: staged again in level order after the level-0 rows
    let maxLevel = 0;
    for (const l of levels.values()) maxLevel = Math.max(maxLevel, l);
    if (waitingStaged) {
      for (let level = 1; level <= maxLevel; level++) {
        let batch: PlannedRow[] = [];
        for await (const rows of this.stagedBatches(jobId, BATCH, -1)) {
          for (const r of rows) {
            if (levels.get(r.input.gbCode) !== level) continue;
            batch.push(r);
            regionIds.add(r.input.regionId);
            if (batch.length >= BATCH) {
              staged += batch.length;
              await stage(JSON.stringify(batch.map(stagedRow)), level);
              batch = [];
            }
          }
        }
        if (batch.length) {
          staged += batch.length;
          await stage(JSON.stringify(batch.map(stagedRow)), level);
        }
      }
      await this.chunks.collection.deleteMany({ jobId, level: -1 });
    }
    phase('stage');
    run.progress.rowsToApply = staged;
    const created = jobDoc as ImportJobDoc | null;
    let applied = { created: 0, updated: 0, unchanged: 0, conflicts: [] as PlannedRow[] };
    const written = staged > 0 && created !== null;
    if (!written) await drop();
    if (written) {
      const job: ImportJobDoc = { ...created, totals, staged, levels: maxLevel + 1, regionIds: [...regionIds] };
      // the commit point: from here on the job is completed, if need be after a restart
      await this.jobs.collection.updateOne(
        { _id: jobId },
        { $set: { state: 'committed', committedAt: new Date(), totals, staged, levels: job.levels, regionIds: job.regionIds, format: fileMeta.format } },
      );
      report.jobId = jobId.toHexString();
      await hooks.afterCommit?.(jobId.toHexString());
      run.phase = 'apply';
      // the writes and their change events run here, on the main thread: in turns with HTTP and polling
      const pace = new LoopPace();
      try {
        applied = await this.applyBatches(job, this.stagedBatches(jobId, applyBatchSize(staged)), hooks, true, (n) => (run.progress.rowsApplied += n), pace);
      } finally {
        pace.stop();
      }
      phases.gaveWay = Math.round(pace.restedMs);
      phase('apply');
    }
    run.phase = 'finish';
    totals.created = applied.created;
    totals.updated = applied.updated;
    totals.unchanged = totals.valid - staged + applied.unchanged;
    const gbLabel = fileMeta.headerText.gbCode ?? fieldLabels.gbCode.zh;
    for (const c of applied.conflicts) {
      report.errors.push({ line: c.line, field: 'gbCode', column: gbLabel, reason: 'the point was changed by someone else during the import and was not written; import the file again' });
    }
    report.applied = true;
    if (written) await this.finish({ _id: jobId }, totals, false);
    const ids = [...regionIds];
    await this.deps.audit.record({
      actor,
      action: 'import',
      entity: 'import',
      entityId: written ? jobId.toHexString() : null,
      meta: { mode: opts.mode, format: fileMeta.format, filename: opts.filename ?? '', totals: { ...totals } },
      regionIds: ids.length ? ids : principal.scopeRegionId !== null ? [principal.scopeRegionId] : [],
    });
    phase('finish');
    this.deps.logger.info('import done', { jobId: report.jobId, mode: opts.mode, rows: totals.rows, created: totals.created, updated: totals.updated, ms: Date.now() - started, phases });
    return report;
  }

  private async finish(job: Pick<ImportJobDoc, '_id'>, totals: ImportTotals, recovered: boolean): Promise<void> {
    await this.jobs.collection.updateOne(
      { _id: job._id },
      { $set: { state: 'done', totals, finishedAt: new Date() }, ...(recovered ? { $inc: { recoveries: 1 } } : {}) },
    );
    await this.chunks.collection.deleteMany({ jobId: job._id });
  }

  /** Staged rows in order, in batches of up to `size` rows of one level (`level`: only that level's chunks). */
  private async *stagedBatches(jobId: Types.ObjectId, size: number, level?: number): AsyncGenerator<PlannedRow[]> {
    const cursor = this.chunks.collection.find<ImportChunkDoc>(level === undefined ? { jobId } : { jobId, level }).sort({ seq: 1 }).batchSize(4);
    let seq = 0;
    let batch: PlannedRow[] = [];
    let batchLevel = 0;
    for await (const c of cursor) {
      if (c.level < 0 && level === undefined) continue;
      if (batch.length && (c.level !== batchLevel || batch.length >= size)) {
        yield batch;
        batch = [];
      }
      batchLevel = c.level;
      for (const r of stagedRowsOf(c)) {
        batch.push({ seq: seq++, line: r.line, input: r.input, upstreamGbCode: r.upstreamGbCode ?? null, level: c.level, outcome: r.outcome, ...(r.version !== undefined ? { version: r.version } : {}) });
      }
    }
    if (batch.length) yield batch;
  }

  /**
   * Applies batches in level order. `checkVersions`: an update is written only over the version of the
   * point the plan read (`PlannedRow.version`): a point changed since is a conflict (reported, not
   * overwritten). A roll-forward after a restart has no plan: the upserts read the points themselves, and
   * rows an interrupted run already wrote come out unchanged.
   */
  private async applyBatches(
    job: ImportJobDoc,
    batches: AsyncIterable<PlannedRow[]>,
    hooks: ImportHooks,
    checkVersions: boolean,
    onBatch: (rows: number) => void = () => undefined,
    pace: Pace = noPace,
  ): Promise<{ created: number; updated: number; unchanged: number; conflicts: PlannedRow[] }> {
    const out = { created: 0, updated: 0, unchanged: 0, conflicts: [] as PlannedRow[] };
    const source = `import:${job._id.toHexString()}`;
    let batchNo = 0;
    for await (const batch of batches) {
      await pace.yield();
      // upstream devices created by an earlier level of this file did not exist when the plan read the
      // stored points: they are the one lookup left (by code, after that level was written)
      const pendingUp = batch.filter((r) => r.upstreamGbCode);
      if (pendingUp.length) {
        const found = await this.deps.cameras.findByGbCodes(pendingUp.map((r) => r.upstreamGbCode as string));
        const ids = new Map(found.map((c) => [c.gbCode, c.id]));
        for (const r of pendingUp) {
          const id = ids.get(r.upstreamGbCode as string);
          if (!id) this.deps.logger.warn('import: upstream device vanished before apply', { gbCode: r.input.gbCode, upstream: r.upstreamGbCode });
          r.input.upstreamId = id ?? null;
        }
      }
      let rows = batch;
      let stored: Map<string, Camera> | undefined;
      if (checkVersions) {
        // the stored points the updates were planned against, if still at that version (creates: none)
        stored = new Map();
        const updates = batch.filter((r) => r.version !== undefined);
        if (updates.length) {
          const now = new Map((await this.deps.cameras.findByGbCodes(updates.map((r) => r.input.gbCode))).map((c) => [c.gbCode, c]));
          rows = [];
          for (const r of batch) {
            if (r.version === undefined) {
              rows.push(r);
              continue;
            }
            const cur = now.get(r.input.gbCode);
            if (cur && cur.version === r.version) {
              stored.set(cur.gbCode, cur);
              rows.push(r);
            } else out.conflicts.push(r);
          }
        }
      }
      // per-point audit entries for updates (before/after matter); creates are counted by the import's entry,
      // as 100,000 "created" entries would double the cost of a large import and bury real edits
      for (const audit of [false, true]) {
        const todo = rows.filter((r) => (r.outcome === 'updated') === audit);
        if (!todo.length) continue;
        const res = await this.deps.cameras.upsertManyValidated(
          todo.map((r) => r.input),
          job.actor,
          { source, audit, pace, ...(stored ? { stored } : {}) },
        );
        out.created += res.created;
        out.updated += res.updated;
        out.unchanged += res.unchanged;
        const conflicted = new Set(res.conflicts);
        out.conflicts.push(...todo.filter((r) => conflicted.has(r.input.gbCode)));
      }
      batchNo++;
      onBatch(batch.length);
      await hooks.afterBatch?.(batchNo, job._id.toHexString());
    }
    return out;
  }
}


const TEMP_PREFIX = 'vigil-import-';

/** A temporary file for an upload, in a directory of its own (removed by `start` when its run ends). */
export async function importTempFile(): Promise<string> {
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), TEMP_PREFIX));
  return path.join(dir, 'upload');
}

export async function removeImportFile(file: string): Promise<void> {
  const dir = path.dirname(file);
  await fs.promises.rm(path.basename(dir).startsWith(TEMP_PREFIX) ? dir : file, { recursive: true, force: true }).catch(() => undefined);
}

/**
 * A chunk's rows. Chunks staged by an earlier version kept them as an array in `rows`; a job it left
 * committed is still rolled forward after the upgrade.
 */
export function stagedRowsOf(c: ImportChunkDoc): StagedRow[] {
  if (typeof c.rowsJson === 'string') return JSON.parse(c.rowsJson) as StagedRow[];
  return (c as { rows?: StagedRow[] }).rows ?? [];
}
