import type { Camera } from '../../contracts/cameras';
import type { Principal } from '../../contracts/access';
import { changesPoint } from '../documents';
import type { CameraInput, ProbeDefaults } from '../schema';
import { fieldLabels, type SourceRow } from './fields';
import { codeValue, mapRow, type MapContext, type RowIssue } from './mapping';
import type { StagedRow } from './model';
import type { FileMeta } from './read';
import type { RegionDirectory } from './regions';
import { detached } from '../../lib/intern';

/** The report lists at most this many problems (ordered by line); `errorsTruncated` says when more exist. */
export const MAX_REPORTED_ERRORS = 10_000;

export interface PlannedRow {
  seq: number;
  line: number;
  input: CameraInput;
  /** Upstream device that is another row of the file (resolved by code at apply time); null = input is final. */
  upstreamGbCode: string | null;
  level: number;
  outcome: 'created' | 'updated' | 'unchanged';
  /** Version of the stored point the row was planned against (an update is written only over that version). */
  version?: number;
}

/** How the rows of a file are mapped for this caller: his scope, where rows without a region go, the file's columns. */
export function mapContextFor(principal: Principal, dir: RegionDirectory, meta: FileMeta, probeDefaults: ProbeDefaults): MapContext {
  const scope = principal.scopeRegionId === null ? null : new Set(dir.subtree(principal.scopeRegionId));
  const districts = dir.tree.roots().filter((id) => dir.tree.tierOf(id) === 'district');
  const defaultRegionId = principal.scopeRegionId ?? (districts.length === 1 ? districts[0] : undefined);
  return {
    ...(defaultRegionId && dir.get(defaultRegionId)?.tier !== 'grid' ? { defaultRegionId } : {}),
    regions: dir,
    scope,
    probeDefaults,
    headerText: meta.headerText,
    ...(meta.columns ? { columns: new Set(meta.columns) } : {}),
  };
}

/** A planned row as a staged chunk keeps it. */
export function stagedRow(p: PlannedRow): StagedRow {
  return { line: p.line, input: p.input, upstreamGbCode: p.upstreamGbCode, outcome: p.outcome === 'created' ? 'created' : 'updated', ...(p.version !== undefined ? { version: p.version } : {}) };
}

/** What the file says about one code: `line * 4 + kind`. */
const INVALID = 0;
const READY = 1;
const WAITING = 2;

/**
 * Maps and checks the rows of a file batch by batch as they are read, keeping only what the whole file
 * must tell: the first line of every code (duplicates: the later line is wrong) and whether it was valid,
 * and, for rows whose upstream device is another row of the file, that code (they wait for it: `resolve`
 * gives their level once the file is read). Each batch comes with the stored points its codes name
 * (`codesOf`); a row's outcome is the registry's own `changesPoint`. Memory: a few dozen bytes per code of
 * the file, plus the rows that wait for an upstream row.
 */
export class StreamPlanner {
  private readonly codes = new Map<string, number>();
  private readonly waiting = new Map<string, { line: number; up: string; outcome: 'created' | 'updated' }>();
  private readonly issues: RowIssue[] = [];
  private issuesDropped = false;
  private seq = 0;
  readonly totals = { rows: 0, invalid: 0, created: 0, updated: 0, unchanged: 0 };
  private readonly gbLabel: string;
  private readonly upLabel: string;

  constructor(
    private readonly principal: Principal,
    private readonly canSee: (p: Principal, c: Camera) => boolean,
    private readonly ctx: MapContext,
  ) {
    this.gbLabel = ctx.headerText?.gbCode ?? fieldLabels.gbCode.zh;
    this.upLabel = ctx.headerText?.upstream ?? fieldLabels.upstream.zh;
  }

  /** The codes a batch names (its points and their upstream devices): read them before `take`. */
  static codesOf(rows: SourceRow[]): string[] {
    const codes = new Set<string>();
    for (const r of rows) {
      for (const f of ['gbCode', 'upstream'] as const) {
        const raw = r.values[f];
        if (raw === undefined) continue;
        const c = codeValue(raw);
        if (!c.reason && c.value) codes.add(c.value);
      }
    }
    return [...codes];
  }

  private issue(i: RowIssue): void {
    // rows come in line order: once the list is full, later rows only count (the upstream issues found
    // at the end may come before them and are kept; `result` sorts and cuts)
    // kept to the end: its texts must not keep the file's decoded pieces alive (`detached`)
    if (this.issues.length < 2 * MAX_REPORTED_ERRORS) this.issues.push({ line: i.line, field: i.field, column: detached(i.column), reason: detached(i.reason) });
    else this.issuesDropped = true;
  }

  /**
   * Plans a batch. `ready`: valid rows to write now (level 0); `waiting`: valid rows whose upstream device
   * is (perhaps) a later or earlier row of the file. Unchanged rows are counted, not returned.
   */
  take(rows: SourceRow[], existing: ReadonlyMap<string, Camera>): { ready: PlannedRow[]; waiting: PlannedRow[] } {
    const ready: PlannedRow[] = [];
    const waiting: PlannedRow[] = [];
    const { ctx, principal, gbLabel } = this;
    for (const row of rows) {
      const seq = this.seq++;
      this.totals.rows++;
      const code = row.values.gbCode !== undefined ? codeValue(row.values.gbCode).value : undefined;
      const stored = code ? existing.get(code) : undefined;
      if (stored && !this.canSee(principal, stored)) {
        // a point the caller cannot see: never written, and the row is not compared with it either (its
        // outcome or a field-level complaint would tell the caller what the hidden point holds)
        this.issue({ line: row.line, field: 'gbCode', column: gbLabel, reason: `${gbLabel} ${code}: no such point in your scope` });
        this.totals.invalid++;
        if (!this.codes.has(stored.gbCode)) this.codes.set(stored.gbCode, row.line * 4 + INVALID);
        continue;
      }
      const m = mapRow(row, stored, ctx);
      const rowIssues = m.ok ? [] : [...m.issues];
      if (code && /^\d{20}$/.test(code)) {
        const first = this.codes.get(code);
        if (first !== undefined) rowIssues.push({ line: row.line, field: 'gbCode', column: gbLabel, reason: `${gbLabel} ${code} already appears on line ${Math.floor(first / 4)}` });
        else this.codes.set(detached(code), row.line * 4 + INVALID);
        if (stored && ctx.scope && !ctx.scope.has(stored.regionId)) {
          rowIssues.push({ line: row.line, field: 'gbCode', column: gbLabel, reason: `${gbLabel} ${code} is registered to a point outside your scope` });
        }
      }
      if (rowIssues.length || !m.ok) {
        for (const i of rowIssues) this.issue(i);
        this.totals.invalid++;
        continue;
      }
      const p: PlannedRow = { seq, line: row.line, input: m.input, upstreamGbCode: m.upstreamGbCode ?? null, level: 0, outcome: 'created', ...(stored ? { version: stored.version } : {}) };
      let waits = false;
      if (p.upstreamGbCode !== null) {
        // upstream devices: registered and visible → id now; else perhaps another row of the file
        const up = existing.get(p.upstreamGbCode);
        if (up && this.canSee(principal, up)) {
          p.input.upstreamId = up.id;
          p.upstreamGbCode = null;
        } else waits = true;
      }
      if (!stored) p.outcome = 'created';
      else if (waits) p.outcome = 'updated';
      else p.outcome = changesPoint(p.input, stored, ctx.probeDefaults) ? 'updated' : 'unchanged';
      const own = detached(p.input.gbCode);
      this.codes.set(own, row.line * 4 + (waits ? WAITING : READY));
      if (waits) {
        this.waiting.set(own, { line: row.line, up: detached(p.upstreamGbCode as string), outcome: p.outcome === 'created' ? 'created' : 'updated' });
        waiting.push(p);
        continue;
      }
      this.totals[p.outcome]++;
      if (p.outcome !== 'unchanged') ready.push(p);
    }
    return { ready, waiting };
  }

  /**
   * After the last batch: the level of each waiting row (1 + its upstream row's level), by code; rows
   * whose upstream is neither registered nor a valid row of the file, or sits on such a chain or a loop,
   * get their problem and no level.
   */
  resolve(): Map<string, number> {
    const levels = new Map<string, number>();
    const dropped = new Set<string>();
    for (const [code, w] of this.waiting) {
      const st = this.codes.get(w.up);
      if (st !== undefined && st % 4 !== INVALID) continue;
      const reason = st !== undefined ? `${w.up} is on line ${Math.floor(st / 4)}, which has errors` : `${w.up}: no such point is registered or in this file`;
      this.issue({ line: w.line, field: 'upstream', column: this.upLabel, reason: `${this.upLabel} ${reason}` });
      this.totals.invalid++;
      dropped.add(code);
    }
    // level of a code: 0 for a ready row; -1 on a chain to a dropped row; -2 in a loop
    const levelOf = (start: string): number => {
      const path: string[] = [];
      const onPath = new Set<string>();
      let code = start;
      let base: number;
      for (;;) {
        const known = levels.get(code);
        if (known !== undefined) {
          base = known;
          break;
        }
        if (dropped.has(code)) {
          base = -1;
          break;
        }
        const w = this.waiting.get(code);
        if (!w) {
          base = 0;
          break;
        }
        if (onPath.has(code)) {
          base = -2;
          break;
        }
        onPath.add(code);
        path.push(code);
        code = w.up;
      }
      for (let i = path.length - 1; i >= 0; i--) {
        base = base < 0 ? base : base + 1;
        if (!dropped.has(path[i])) levels.set(path[i], base);
      }
      return levels.get(start) ?? -1;
    };
    for (const [code, w] of this.waiting) {
      if (dropped.has(code)) continue;
      const l = levelOf(code);
      if (l >= 0) {
        this.totals[w.outcome]++;
        continue;
      }
      const upLine = Math.floor((this.codes.get(w.up) ?? 0) / 4);
      this.issue({
        line: w.line,
        field: 'upstream',
        column: this.upLabel,
        reason: `${this.upLabel} ${l === -2 ? `${w.up}: the upstream chain loops back to this point` : `${w.up} is on line ${upLine}, which cannot be imported`}`,
      });
      this.totals.invalid++;
    }
    for (const [code, l] of levels) if (l < 0) levels.delete(code);
    return levels;
  }

  /** The problems, ordered by line, at most MAX_REPORTED_ERRORS of them. */
  result(): { errors: RowIssue[]; errorsTruncated: boolean } {
    this.issues.sort((a, b) => a.line - b.line);
    return { errors: this.issues.slice(0, MAX_REPORTED_ERRORS), errorsTruncated: this.issuesDropped || this.issues.length > MAX_REPORTED_ERRORS };
  }
}
