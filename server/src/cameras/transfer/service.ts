import { Types, type Connection, type Model } from 'mongoose';
import type { AuditService } from '../../audit/service';
import type { Principal } from '../../contracts/access';
import { AppError } from '../../lib/errors';
import type { Logger } from '../../lib/logger';
import type { RegionService } from '../../regions/service';
import { changesPoint } from '../documents';
import type { Camera } from '../../contracts/cameras';
import type { CameraInput, ProbeDefaults } from '../schema';
import type { CameraService } from '../service';
import { fieldLabels, type SourceRow, type TransferField } from './fields';
import { codeValue, mapRow, type MapContext, type RowIssue } from './mapping';
import { importChunkModel, importJobModel, type ImportChunkDoc, type ImportJobDoc, type ImportMode, type ImportTotals, type StagedRow } from './model';
import { parseImportFile, type ImportFormat } from './parse';
import { RegionDirectory } from './regions';
import type { ImportReport } from '../../contracts/import';
import type { TextEncoding } from './decode';
import { TableError } from './table';
import { isObjectId } from '../../contracts/vocabulary';

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
/** The report lists at most this many problems (ordered by line); `errorsTruncated` says when more exist. */
export const MAX_REPORTED_ERRORS = 10_000;

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
}

interface PlannedRow {
  seq: number;
  line: number;
  input: CameraInput;
  upstreamGbCode: string | null;
  level: number;
  outcome: 'created' | 'updated' | 'unchanged';
}

export interface TransferDeps {
  cameras: CameraService;
  regions: RegionService;
  audit: AuditService;
  probeDefaults: ProbeDefaults;
  logger: Logger;
}

/**
 * Bulk import and export of camera points. Import = parse (any format) → map each row onto the
 * registry's own input schema and validation → plan (created / updated / unchanged, by the registry's
 * `changesPoint`) → stage durably → commit → apply by idempotent upserts. See model.ts for the states
 * that make all-or-nothing survive a crash.
 */
export class TransferService {
  private readonly jobs: Model<ImportJobDoc>;
  private readonly chunks: Model<ImportChunkDoc>;
  /** Imports run one at a time per app: they are heavy, and serial jobs keep the staged state simple. */
  private queue: Promise<unknown> = Promise.resolve();

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
        const staged = this.stagedBatches(job._id);
        const applied = await this.applyBatches(job, staged, {});
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

  import(principal: Principal, file: Buffer, opts: ImportOptions, hooks: ImportHooks = {}): Promise<ImportReport> {
    return this.serial(() => this.runImport(principal, file, opts, hooks));
  }

  private async runImport(principal: Principal, file: Buffer, opts: ImportOptions, hooks: ImportHooks): Promise<ImportReport> {
    const started = Date.now();
    const phases: Record<string, number> = {};
    let mark = started;
    const phase = (name: string): void => {
      const now = Date.now();
      phases[name] = now - mark;
      mark = now;
    };
    let table;
    try {
      table = await parseImportFile(file, { format: opts.format, encoding: opts.encoding, filename: opts.filename });
    } catch (err) {
      if (err instanceof TableError) throw new AppError('bad_request', `cannot read the file: ${err.message}`, [{ field: 'file', message: err.message }]);
      throw err;
    }
    phase('parse');
    const dir = new RegionDirectory(this.deps.regions.current());
    const scope = principal.scopeRegionId === null ? null : new Set(dir.subtree(principal.scopeRegionId));
    const districts = dir.tree.roots().filter((id) => dir.tree.tierOf(id) === 'district');
    const defaultRegionId = principal.scopeRegionId ?? (districts.length === 1 ? districts[0] : undefined);
    const ctx: MapContext = {
      ...(defaultRegionId && dir.get(defaultRegionId)?.tier !== 'grid' ? { defaultRegionId } : {}),
      regions: dir,
      scope,
      probeDefaults: this.deps.probeDefaults,
      headerText: table.headerText,
      ...(table.columns ? { columns: new Set(table.columns) } : {}),
    };
    const existing = await this.loadExisting(table.rows);
    phase('load');
    const { planned, issues } = this.plan(principal, table.rows, existing, ctx, phase);
    const invalidLines = new Set(issues.map((i) => i.line));
    const totals: ImportTotals = {
      rows: table.rows.length,
      valid: table.rows.length - invalidLines.size,
      invalid: invalidLines.size,
      created: 0,
      updated: 0,
      unchanged: 0,
      skipped: table.skipped,
    };
    for (const p of planned) totals[p.outcome]++;
    issues.sort((a, b) => a.line - b.line);
    const report: ImportReport = {
      jobId: null,
      mode: opts.mode,
      format: table.format,
      encoding: table.encoding,
      applied: false,
      totals,
      errors: issues.slice(0, MAX_REPORTED_ERRORS),
      errorsTruncated: issues.length > MAX_REPORTED_ERRORS,
      ignoredColumns: table.ignoredColumns,
    };
    if (opts.mode === 'dry-run') {
      this.deps.logger.info('import checked', { mode: opts.mode, rows: totals.rows, invalid: totals.invalid, ms: Date.now() - started, phases });
      return report;
    }
    if (opts.mode === 'all-or-nothing' && totals.invalid > 0) {
      throw new AppError('validation_failed', `${totals.invalid} of ${totals.rows} rows are invalid; nothing was imported (mode all-or-nothing)`, report);
    }

    const changed = planned.filter((p) => p.outcome !== 'unchanged').sort((a, b) => a.level - b.level || a.seq - b.seq);
    const actor = { userId: principal.userId, username: principal.username };
    const regionIds = [...new Set(changed.map((p) => p.input.regionId))];
    const now = new Date();
    const job: ImportJobDoc = {
      _id: new Types.ObjectId(),
      state: 'staging',
      mode: opts.mode,
      format: table.format,
      filename: opts.filename ?? '',
      actor,
      totals,
      staged: changed.length,
      levels: changed.length ? changed[changed.length - 1].level + 1 : 0,
      regionIds,
      createdAt: now,
      committedAt: null,
      finishedAt: null,
      recoveries: 0,
    };
    report.jobId = job._id.toHexString();
    let applied = { created: 0, updated: 0, unchanged: 0, conflicts: [] as PlannedRow[] };
    if (changed.length) {
      await this.jobs.collection.insertOne(job);
      let seq = 0;
      for (const batch of this.memoryBatches(changed)) {
        const chunk: ImportChunkDoc = {
          _id: new Types.ObjectId(),
          jobId: job._id,
          seq: seq++,
          level: batch[0].level,
          rowsJson: JSON.stringify(batch.map((p): StagedRow => ({ line: p.line, input: p.input, upstreamGbCode: p.upstreamGbCode, outcome: p.outcome === 'created' ? 'created' : 'updated' }))),
        };
        await this.chunks.collection.insertOne(chunk);
        await hooks.afterStage?.(seq, job._id.toHexString());
      }
      // the commit point: from here on the job is completed, if need be after a restart
      await this.jobs.collection.updateOne({ _id: job._id }, { $set: { state: 'committed', committedAt: new Date() } });
      phase('stage');
      await hooks.afterCommit?.(job._id.toHexString());
      applied = await this.applyBatches(job, this.memoryBatches(changed, applyBatchSize(changed.length)), hooks, existing);
      phase('apply');
    }
    totals.created = applied.created;
    totals.updated = applied.updated;
    totals.unchanged = planned.length - changed.length + applied.unchanged;
    for (const c of applied.conflicts) {
      report.errors.push({ line: c.line, field: 'gbCode', column: ctx.headerText?.gbCode ?? fieldLabels.gbCode.zh, reason: 'the point was changed by someone else during the import and was not written; import the file again' });
    }
    report.applied = true;
    if (changed.length) await this.finish(job, totals, false);
    await this.deps.audit.record({
      actor,
      action: 'import',
      entity: 'import',
      entityId: changed.length ? job._id.toHexString() : null,
      meta: { mode: opts.mode, format: table.format, filename: opts.filename ?? '', totals: { ...totals } },
      regionIds: regionIds.length ? regionIds : scope ? [principal.scopeRegionId as string] : [],
    });
    phase('finish');
    this.deps.logger.info('import done', { jobId: report.jobId, mode: opts.mode, rows: totals.rows, created: totals.created, updated: totals.updated, ms: Date.now() - started, phases });
    return report;
  }

  private async finish(job: ImportJobDoc, totals: ImportTotals, recovered: boolean): Promise<void> {
    await this.jobs.collection.updateOne(
      { _id: job._id },
      { $set: { state: 'done', totals, finishedAt: new Date() }, ...(recovered ? { $inc: { recoveries: 1 } } : {}) },
    );
    await this.chunks.collection.deleteMany({ jobId: job._id });
  }

  /**
   * Stored points for every code the file mentions (its rows and their upstream devices): the plan's
   * comparisons, and the versions the apply's conditional writes check (the one read of them).
   */
  private async loadExisting(rows: SourceRow[]): Promise<Map<string, Camera>> {
    const codes = new Set<string>();
    for (const r of rows) {
      for (const f of ['gbCode', 'upstream'] as const) {
        const raw = r.values[f];
        if (raw === undefined) continue;
        const c = codeValue(raw);
        if (!c.reason && c.value) codes.add(c.value);
      }
    }
    return new Map((await this.deps.cameras.findByGbCodes([...codes])).map((c) => [c.gbCode, c]));
  }

  /**
   * Maps and checks every row, then settles what only the whole file can tell: duplicate codes (the
   * later line is wrong), upstream devices (registered, or created by another row of the file — then the
   * row waits for that one: its level), and the outcome of each valid row by the registry's `changesPoint`.
   */
  private plan(
    principal: Principal,
    rows: SourceRow[],
    existing: Map<string, Camera>,
    ctx: MapContext,
    phase: (name: string) => void = () => undefined,
  ): { planned: PlannedRow[]; issues: RowIssue[] } {
    const issues: RowIssue[] = [];
    const firstLine = new Map<string, number>();
    const valid = new Map<string, PlannedRow>();
    const invalidByCode = new Map<string, number>();
    const gbLabel = ctx.headerText?.gbCode ?? fieldLabels.gbCode.zh;
    const upLabel = ctx.headerText?.upstream ?? fieldLabels.upstream.zh;
    const fail = (line: number, field: TransferField | 'row', column: string, reason: string): void => {
      issues.push({ line, field, column, reason: `${column} ${reason}` });
    };

    rows.forEach((row, seq) => {
      const code = row.values.gbCode !== undefined ? codeValue(row.values.gbCode).value : undefined;
      const stored = code ? existing.get(code) : undefined;
      if (stored && !this.deps.cameras.canSee(principal, stored)) {
        // a point the caller cannot see: never written, and the row is not compared with it either (its
        // outcome or a field-level complaint would tell the caller what the hidden point holds)
        issues.push({ line: row.line, field: 'gbCode', column: gbLabel, reason: `${gbLabel} ${code}: no such point in your scope` });
        if (!firstLine.has(stored.gbCode)) firstLine.set(stored.gbCode, row.line);
        if (!invalidByCode.has(stored.gbCode)) invalidByCode.set(stored.gbCode, row.line);
        return;
      }
      const cur = stored;
      const m = mapRow(row, cur, ctx);
      const rowIssues = m.ok ? [] : [...m.issues];
      if (code && /^\d{20}$/.test(code)) {
        const first = firstLine.get(code);
        if (first !== undefined) rowIssues.push({ line: row.line, field: 'gbCode', column: gbLabel, reason: `${gbLabel} ${code} already appears on line ${first}` });
        else firstLine.set(code, row.line);
        if (cur && ctx.scope && !ctx.scope.has(cur.regionId)) {
          rowIssues.push({ line: row.line, field: 'gbCode', column: gbLabel, reason: `${gbLabel} ${code} is registered to a point outside your scope` });
        }
      }
      if (rowIssues.length || !m.ok) {
        issues.push(...rowIssues);
        if (code && !invalidByCode.has(code) && !valid.has(code)) invalidByCode.set(code, row.line);
        return;
      }
      valid.set(m.input.gbCode, { seq, line: row.line, input: m.input, upstreamGbCode: m.upstreamGbCode ?? null, level: 0, outcome: 'created' });
    });

    // upstream devices: registered and visible → id now; another valid row of the file → wait for it
    const dependsOn = new Map<PlannedRow, PlannedRow>();
    const dropped = new Set<PlannedRow>();
    for (const p of valid.values()) {
      const up = p.upstreamGbCode;
      if (up === null) continue;
      const stored = existing.get(up);
      const inFile = valid.get(up);
      if (stored && this.deps.cameras.canSee(principal, stored)) {
        p.input.upstreamId = stored.id;
        p.upstreamGbCode = null;
      } else if (inFile) {
        dependsOn.set(p, inFile);
      } else {
        const badLine = invalidByCode.get(up);
        fail(p.line, 'upstream', upLabel, badLine !== undefined ? `${up} is on line ${badLine}, which has errors` : `${up}: no such point is registered or in this file`);
        dropped.add(p);
      }
    }
    const levelOf = (p: PlannedRow, path: Set<PlannedRow>): number => {
      if (dropped.has(p)) return -1;
      const dep = dependsOn.get(p);
      if (!dep) return 0;
      if (path.has(dep)) return -2;
      path.add(p);
      const l = levelOf(dep, path);
      path.delete(p);
      return l < 0 ? l : l + 1;
    };
    for (const p of valid.values()) {
      const l = levelOf(p, new Set([p]));
      if (l >= 0) {
        p.level = l;
        continue;
      }
      if (!dropped.has(p)) {
        const up = p.upstreamGbCode as string;
        fail(p.line, 'upstream', upLabel, l === -2 ? `${up}: the upstream chain loops back to this point` : `${up} is on line ${valid.get(up)?.line ?? '?'}, which cannot be imported`);
      }
    }
    for (const p of [...valid.values()]) if (levelOf(p, new Set([p])) < 0) valid.delete(p.input.gbCode);

    phase('map');
    // outcomes: the registry's own "unchanged?" (the bulk upsert asks it again of the rows sent to it)
    const result = [...valid.values()].sort((a, b) => a.seq - b.seq);
    for (const p of result) {
      const cur = existing.get(p.input.gbCode);
      if (!cur) p.outcome = 'created';
      else if (p.upstreamGbCode !== null) p.outcome = 'updated';
      else p.outcome = changesPoint(p.input, cur, ctx.probeDefaults) ? 'updated' : 'unchanged';
    }
    phase('outcomes');
    return { planned: result, issues };
  }

  private *memoryBatches(rows: PlannedRow[], size = BATCH): Generator<PlannedRow[]> {
    let level = -1;
    let batch: PlannedRow[] = [];
    for (const r of rows) {
      if ((r.level !== level && batch.length) || batch.length >= size) {
        yield batch;
        batch = [];
      }
      level = r.level;
      batch.push(r);
    }
    if (batch.length) yield batch;
  }

  private async *stagedBatches(jobId: Types.ObjectId): AsyncGenerator<PlannedRow[]> {
    const cursor = this.chunks.collection.find<ImportChunkDoc>({ jobId }).sort({ seq: 1 }).batchSize(4);
    let seq = 0;
    for await (const c of cursor) {
      yield stagedRowsOf(c).map((r) => ({ seq: seq++, line: r.line, input: r.input, upstreamGbCode: r.upstreamGbCode ?? null, level: c.level, outcome: r.outcome }));
    }
  }

  /**
   * Applies batches in level order. `stored`: the points the plan read, handed to the upserts with their
   * versions, so they are not read again and a point changed since the plan is a conflict (reported, not
   * overwritten). A roll-forward after a restart has no plan: the upserts read the points themselves, and
   * rows an interrupted run already wrote come out unchanged.
   */
  private async applyBatches(
    job: ImportJobDoc,
    batches: Iterable<PlannedRow[]> | AsyncIterable<PlannedRow[]>,
    hooks: ImportHooks,
    stored?: ReadonlyMap<string, Camera>,
  ): Promise<{ created: number; updated: number; unchanged: number; conflicts: PlannedRow[] }> {
    const out = { created: 0, updated: 0, unchanged: 0, conflicts: [] as PlannedRow[] };
    const source = `import:${job._id.toHexString()}`;
    let batchNo = 0;
    for await (const batch of batches) {
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
      // per-point audit entries for updates (before/after matter); creates are counted by the import's entry,
      // as 100,000 "created" entries would double the cost of a large import and bury real edits
      for (const audit of [false, true]) {
        const todo = batch.filter((r) => (r.outcome === 'updated') === audit);
        if (!todo.length) continue;
        const res = await this.deps.cameras.upsertManyValidated(
          todo.map((r) => r.input),
          job.actor,
          { source, audit, ...(stored ? { stored } : {}) },
        );
        out.created += res.created;
        out.updated += res.updated;
        out.unchanged += res.unchanged;
        const conflicted = new Set(res.conflicts);
        out.conflicts.push(...todo.filter((r) => conflicted.has(r.input.gbCode)));
      }
      batchNo++;
      await hooks.afterBatch?.(batchNo, job._id.toHexString());
    }
    return out;
  }
}

/**
 * A chunk's rows. Chunks staged by an earlier version kept them as an array in `rows`; a job it left
 * committed is still rolled forward after the upgrade.
 */
export function stagedRowsOf(c: ImportChunkDoc): StagedRow[] {
  if (typeof c.rowsJson === 'string') return JSON.parse(c.rowsJson) as StagedRow[];
  return (c as { rows?: StagedRow[] }).rows ?? [];
}
