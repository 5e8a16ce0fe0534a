import type {
  Assessment,
  AssessmentCamera,
  AssessmentContractor,
  AssessmentGrade,
  AssessmentRegion,
  AssessmentRule,
  AssessmentStatus,
} from '../contracts/assessment';
import type { Sharing } from '../contracts/vocabulary';
import { CAT_DOWN, CAT_UP } from '../monitoring';
import type { RegionNode, RegionTree } from '../regions/tree';
import { percent } from './online-rate';

/**
 * The monthly contractor assessment (考核表), computed once: the JSON answer, the XLSX file
 * (assessment-xlsx.ts) and the console's sheet and print page all render the `AssessmentSheet` this
 * module returns, so the screen and the file cannot disagree.
 *
 * Per maintainer organisation: score = fullScore − Σ deductions (at least 0, 1 decimal), where each of its
 * points whose month's fault time (confirmed DOWN seconds, so maintenance, never-checked, not-connected time
 * and approved exclusions never count) exceeds a tier's hours costs that tier's points (the highest tier it
 * exceeds). Default: −1 per camera with more than 8 h, so 1,000 points of which 37 exceed 8 h score 63.0.
 * Grades: score ≥ passScore 合格, ≥ fairScore 一般, else 不合格. Contractors rank by score, then online
 * rate, then fewer faulty cameras; regions (the assessed node's children) by online rate, then fewer faulty
 * cameras. Ties share a rank (1, 1, 3).
 */

/** One point's month as the assessment reads it (the online-rate engine's per-point figures, or a closed month's frozen copy). */
export interface AssessedPoint {
  id: string;
  code: string;
  name: string;
  regionId: string;
  sharing: Sharing;
  /** Maintainer organisation ('' = none). */
  org: string;
  /** Seconds per history category (monitoring's historyFields order: up, down, maintenance, never checked, not connected, disabled). */
  sec: number[];
  /** PENDING seconds inside them (whole days). */
  pending: number;
}

export interface AssessInput {
  /** yyyymm */
  month: number;
  from: number;
  to: number;
  timeZone: string;
  /** The tree the points' regions are named by (a closed month's frozen tree). */
  tree: RegionTree;
  /** The assessed node (null: the whole registry, rows per root). */
  region: RegionNode | null;
  /** The points counted: the caller's visible points of the region's subtree. */
  points: readonly AssessedPoint[];
  rule: AssessmentRule;
  status: AssessmentStatus;
  /** Rows of the per-camera list in the JSON answer. */
  cameraRows: number;
}

export interface AssessmentSheet {
  assessment: Assessment;
  /** Every point's row of the per-camera sheet, in the sheet's order (the JSON lists the first `cameraRows`). */
  cameras(): Iterable<AssessmentCamera>;
}

export const ASSESSMENT_METHOD =
  'fault time = confirmed DOWN seconds in the calendar month (REPORT_TZ); maintenance, never-checked, not-connected, disabled time and approved exclusions do not count; ' +
  'a camera whose fault time exceeds a deduction tier costs that tier’s points (the highest tier it exceeds); ' +
  'score = full score − deductions (at least 0), graded by the pass and fair thresholds; ' +
  'online rate pooled: Σ up ÷ Σ (up + down) seconds of the group’s points';

const HOUR = 3600;

export const hours = (sec: number): number => Math.round((sec / HOUR) * 100) / 100;
const round1 = (x: number): number => Math.round(x * 10) / 10;

/** Points a camera costs for its fault seconds under the rule (0 when it exceeds no tier). */
export function deductionOf(faultSec: number, rule: AssessmentRule): number {
  let d = 0;
  for (const t of rule.deductions) if (faultSec > t.overHours * HOUR) d = t.points;
  return d;
}

/** Whether the camera exceeds the lowest tier (a "faulty camera" of the sheet). */
function isFaulty(faultSec: number, rule: AssessmentRule): boolean {
  const lowest = rule.deductions[0];
  return lowest !== undefined && faultSec > lowest.overHours * HOUR;
}

export function gradeOf(score: number, rule: AssessmentRule): AssessmentGrade {
  if (score >= rule.passScore) return 'pass';
  if (score >= rule.fairScore) return 'fair';
  return 'fail';
}

interface Acc {
  points: number;
  faulty: number;
  up: number;
  down: number;
  deduction: number;
}

const emptyAcc = (): Acc => ({ points: 0, faulty: 0, up: 0, down: 0, deduction: 0 });

function figuresOf(a: Acc): { points: number; faultyCameras: number; faultHours: number; upSec: number; downSec: number; rate: number | null } {
  return { points: a.points, faultyCameras: a.faulty, faultHours: hours(a.down), upSec: a.up, downSec: a.down, rate: percent(a.up, a.up + a.down) };
}

/** Competition ranking over a sorted list: equal keys share the rank of the first of them. */
function rankSorted<T>(sorted: T[], same: (a: T, b: T) => boolean): number[] {
  const ranks: number[] = [];
  sorted.forEach((x, i) => ranks.push(i > 0 && same(sorted[i - 1], x) ? ranks[i - 1] : i + 1));
  return ranks;
}

const rateKey = (r: number | null): number => (r === null ? -1 : r);
const zh = new Intl.Collator('zh');

/** Code-point order: the same on every machine (the sheet's row order must not depend on ICU data). */
const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export function assess(input: AssessInput): AssessmentSheet {
  const { tree, region, rule } = input;
  const total = emptyAcc();
  const byOrg = new Map<string, Acc>();
  const byRegion = new Map<string, Acc>();
  const rowKeys: string[] = region ? tree.children(region.id) : tree.roots();
  for (const k of rowKeys) byRegion.set(k, emptyAcc());

  const add = (a: Acc, up: number, down: number, faulty: boolean, deduction: number): void => {
    a.points++;
    a.up += up;
    a.down += down;
    if (faulty) a.faulty++;
    a.deduction += deduction;
  };
  const deductions = new Float64Array(input.points.length);
  input.points.forEach((p, i) => {
    const up = p.sec[CAT_UP];
    const down = p.sec[CAT_DOWN];
    const d = deductionOf(down, rule);
    deductions[i] = d;
    const faulty = isFaulty(down, rule);
    add(total, up, down, faulty, d);
    let o = byOrg.get(p.org);
    if (!o) byOrg.set(p.org, (o = emptyAcc()));
    add(o, up, down, faulty, d);
    // a point on the assessed node itself (not in a child) gets the node's own row
    const key = region ? (tree.childToward(region.id, p.regionId) ?? region.id) : (tree.ancestorsOrSelf(p.regionId).at(-1) ?? p.regionId);
    let r = byRegion.get(key);
    if (!r) byRegion.set(key, (r = emptyAcc()));
    add(r, up, down, faulty, d);
  });

  const contractorsUnranked = [...byOrg].map(([org, a]): Omit<AssessmentContractor, 'rank'> => {
    const deduction = round1(a.deduction);
    const score = Math.max(0, round1(rule.fullScore - deduction));
    return { org, ...figuresOf(a), deduction, score, grade: gradeOf(score, rule) };
  });
  const ranked = contractorsUnranked
    .filter((c) => c.org !== '')
    .sort((a, b) => b.score - a.score || rateKey(b.rate) - rateKey(a.rate) || a.faultyCameras - b.faultyCameras || zh.compare(a.org, b.org) || cmp(a.org, b.org));
  const cRanks = rankSorted(ranked, (a, b) => a.score === b.score && a.rate === b.rate && a.faultyCameras === b.faultyCameras);
  const contractors: AssessmentContractor[] = ranked.map((c, i) => ({ rank: cRanks[i], ...c }));
  const none = contractorsUnranked.find((c) => c.org === '');
  if (none) contractors.push({ rank: null, ...none });

  const regionRows = [...byRegion].map(([id, a]) => {
    const n = tree.get(id);
    return { id, name: n?.name ?? id, tier: n?.tier ?? 'district', ...figuresOf(a) };
  });
  regionRows.sort((a, b) => rateKey(b.rate) - rateKey(a.rate) || a.faultyCameras - b.faultyCameras || zh.compare(a.name, b.name) || cmp(a.id, b.id));
  const rRanks = rankSorted(regionRows, (a, b) => a.rate === b.rate && a.faultyCameras === b.faultyCameras);
  const regions: AssessmentRegion[] = regionRows.map((r, i) => ({ rank: rRanks[i], ...r }));

  // the per-camera sheet: most fault time first, then by code and id (code-point order: stable everywhere)
  const order = input.points.map((_, i) => i);
  const pts = input.points;
  order.sort((a, b) => pts[b].sec[CAT_DOWN] - pts[a].sec[CAT_DOWN] || cmp(pts[a].code, pts[b].code) || cmp(pts[a].id, pts[b].id));
  const paths = new Map<string, string>();
  const pathOf = (regionId: string): string => {
    let s = paths.get(regionId);
    if (s === undefined) {
      s = tree
        .ancestorsOrSelf(regionId)
        .map((id) => tree.get(id)?.name ?? '')
        .reverse()
        .join(' / ');
      paths.set(regionId, s);
    }
    return s;
  };
  const cameraAt = (i: number): AssessmentCamera => {
    const p = pts[i];
    const down = p.sec[CAT_DOWN];
    return { id: p.id, code: p.code, name: p.name, org: p.org, region: pathOf(p.regionId), faultSec: down, faultHours: hours(down), rate: percent(p.sec[CAT_UP], p.sec[CAT_UP] + down), deduction: deductions[i] };
  };

  const named = contractors.filter((c) => c.org !== '');
  const assessment: Assessment = {
    month: `${Math.floor(input.month / 100)}-${String(input.month % 100).padStart(2, '0')}`,
    from: new Date(input.from).toISOString(),
    to: new Date(input.to).toISOString(),
    timeZone: input.timeZone,
    region: region ? { id: region.id, name: region.name, tier: region.tier } : null,
    status: input.status,
    rule,
    method: ASSESSMENT_METHOD,
    summary: {
      ...figuresOf(total),
      contractors: named.length,
      grades: { pass: named.filter((c) => c.grade === 'pass').length, fair: named.filter((c) => c.grade === 'fair').length, fail: named.filter((c) => c.grade === 'fail').length },
    },
    contractors,
    regions,
    cameras: order.slice(0, input.cameraRows).map(cameraAt),
    camerasTotal: order.length,
  };
  return {
    assessment,
    *cameras() {
      for (const i of order) yield cameraAt(i);
    },
  };
}
