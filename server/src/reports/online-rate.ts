import { CAT_DOWN, CAT_UP, categoryOfState, historyFields, monthDays, type HistoryRead, type StateChange } from '../monitoring';
import type { CalendarDay } from '../lib/calendar';
import type { ExclusionLookup, ExclusionWindow } from './exclusions';

/**
 * The online rate (在线率), exact to the second for any range.
 *
 * Time-weighted: up ÷ (up + down) in seconds, where time counts for the confirmed state a point was in
 * (PENDING counts as the state it may leave: the state machine keeps a failing UP point's confirmed state
 * UP until DOWN is confirmed); maintenance, never-checked (UNKNOWN), not-connected and disabled time is
 * excluded. A group's rate pools its points' seconds: Σup ÷ Σ(up + down), never an average of rates.
 *
 * Where the figures come from: whole calendar days (REPORT_TZ) from the month documents of the history;
 * a day the range cuts (its first or last day, or today) from transitions, starting from the state the
 * history recorded at that day's midnight (or, when it has none, the last transition before). Time counts
 * in whole seconds: a change at t takes effect at ⌊t⌋ s, as the accounting that fills the history does.
 * Inside a flapping episode the state machine applies changes without announcing them, so there a cut
 * day follows the episode's records, not every change.
 *
 * Snapshot mode, beside it: at each configured local time of each day in the range, is the point online
 * (UP) or offline (DOWN)? Instants in other states are not counted; rate = online ÷ (online + offline).
 *
 * Approved exclusions (停电, 施工, 不可抗力; reports/exclusions.ts): the rate asks `RateQuery.exclusions` for the
 * points' approved periods in the range; the seconds a point spent in any state inside them (computed from
 * transitions, overlapping periods counted once) leave its figures and are reported as `excluded`, and snapshot
 * instants inside them are not counted.
 */

/** Seconds per history category (historyFields order), PENDING seconds, snapshot counts. */
export interface RateFigures {
  sec: number[];
  /** PENDING seconds of whole days (a cut day's PENDING share is not recorded by transitions). */
  pending: number;
  online: number;
  offline: number;
  /** Seconds taken out by approved exclusions (whatever state the point was in then). */
  excluded: number;
}

export function emptyRate(): RateFigures {
  return { sec: historyFields.map(() => 0), pending: 0, online: 0, offline: 0, excluded: 0 };
}

export function addRate(into: RateFigures, f: RateFigures): void {
  for (let i = 0; i < into.sec.length; i++) into.sec[i] += f.sec[i];
  into.pending += f.pending;
  into.online += f.online;
  into.offline += f.offline;
  into.excluded += f.excluded;
}

/** Percent with 4 decimals (98.8889), or null when nothing counted. */
export function percent(num: number, den: number): number | null {
  return den > 0 ? Math.round((num / den) * 1e6) / 1e4 : null;
}

export function timeRate(f: RateFigures): number | null {
  return percent(f.sec[CAT_UP], f.sec[CAT_UP] + f.sec[CAT_DOWN]);
}

export function snapshotRate(f: RateFigures): number | null {
  return percent(f.online, f.online + f.offline);
}

export interface RateQuery {
  from: number;
  to: number;
  /** The present: a range is cut here (the future has no figures). */
  now: number;
  /** Local "HH:MM" instants of the snapshot mode. */
  snapshotTimes: readonly string[];
  /** Approved exclusion periods of the points (reports/exclusions.ts); none when absent. */
  exclusions?: ExclusionLookup;
}

const second = (t: number): number => Math.floor(t / 1000) * 1000;

/** A point's state over time: the category before the first change, then the changes (effective ⌊at⌋). */
interface Timeline {
  start: number;
  at: number[];
  cat: number[];
}

function categoryAt(tl: Timeline, t: number): number {
  // last change effective at or before t (binary search)
  let lo = 0;
  let hi = tl.at.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (tl.at[mid] <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo === 0 ? tl.start : tl.cat[lo - 1];
}

function integrate(tl: Timeline, a: number, b: number, into: RateFigures): void {
  let cat = categoryAt(tl, a);
  let t = a;
  for (let i = 0; i < tl.at.length; i++) {
    const at = tl.at[i];
    if (at <= a) continue;
    if (at >= b) break;
    if (cat >= 0) into.sec[cat] += (at - t) / 1000;
    t = at;
    cat = tl.cat[i];
  }
  if (cat >= 0) into.sec[cat] += (b - t) / 1000;
}

/**
 * The figures of each point of `ids` over [from, to) (epoch ms), read through monitoring's typed history
 * read. Points without any history get zero figures.
 */
export async function pointRates(read: HistoryRead, ids: ReadonlySet<string>, q: RateQuery): Promise<Map<string, RateFigures>> {
  const cal = read.calendar;
  const out = new Map<string, RateFigures>();
  for (const id of ids) out.set(id, emptyRate());
  const from = second(q.from);
  const to = Math.min(second(q.to), second(q.now));
  if (from >= to || ids.size === 0) return out;

  const wholeByMonth = new Map<number, number[]>();
  const cuts: Array<[number, number]> = [];
  const instants: number[] = [];
  const first: CalendarDay = cal.dayOf(from);
  for (let key = first.key; ; key = cal.nextDay(key)) {
    const day = cal.day(key);
    if (day.start >= to) break;
    const a = Math.max(from, day.start);
    const b = Math.min(to, day.end);
    if (a === day.start && b === day.end) {
      let doms = wholeByMonth.get(day.month);
      if (!doms) wholeByMonth.set(day.month, (doms = []));
      doms.push(day.dom);
    } else {
      cuts.push([a, b]);
    }
    for (const t of cal.instantsOn(key, q.snapshotTimes)) if (t >= a && t < b) instants.push(t);
  }

  // whole days: the month documents' daily figures, summed per point in one batched read of each month; the first
  // day's midnight state comes along
  const midnight = new Map<string, number>();
  const months = new Set([...wholeByMonth.keys(), first.month]);
  for (const month of months) {
    const days = monthDays(wholeByMonth.get(month) ?? [], month === first.month ? first.dom : 0);
    for await (const sum of read.monthSums(month, ids, days)) {
      const fig = out.get(sum.cameraId);
      if (!fig) continue;
      for (let i = 0; i < fig.sec.length; i++) fig.sec[i] += sum.sec[i];
      fig.pending += sum.pending;
      if (sum.midnight !== undefined) midnight.set(sum.cameraId, sum.midnight);
    }
  }
  const excluded = q.exclusions ? mergeWindows(await q.exclusions(ids, from, to)) : new Map<string, Array<[number, number]>>();
  if (cuts.length === 0 && instants.length === 0 && excluded.size === 0) return out;

  // cut days, snapshot instants and exclusions: each point's timeline from the first day's midnight
  const timed = cuts.length || instants.length ? ids : new Set(excluded.keys());
  const unknown = [...timed].filter((id) => !midnight.has(id));
  if (unknown.length) for (const [id, state] of await read.stateBefore(unknown, first.start)) midnight.set(id, categoryOfState[state]);
  const changes = await read.changesBetween(timed, first.start, to);
  const none: StateChange[] = [];
  const noWindows: Array<[number, number]> = [];
  for (const id of timed) {
    const fig = out.get(id) as RateFigures;
    const list = changes.get(id) ?? none;
    const tl: Timeline = { start: midnight.get(id) ?? -1, at: list.map((c) => second(c.at)), cat: list.map((c) => categoryOfState[c.to]) };
    for (const [a, b] of cuts) integrate(tl, a, b, fig);
    const windows = excluded.get(id) ?? noWindows;
    for (const t of instants) {
      if (windows.some(([a, b]) => t >= a && t < b)) continue;
      const c = categoryAt(tl, t);
      if (c === CAT_UP) fig.online++;
      else if (c === CAT_DOWN) fig.offline++;
    }
    if (windows.length) {
      const inside = emptyRate();
      for (const [a, b] of windows) integrate(tl, a, b, inside);
      for (let i = 0; i < fig.sec.length; i++) {
        // never below zero: inside a flapping episode the history's sums and the transitions may differ
        const take = Math.min(fig.sec[i], inside.sec[i]);
        fig.sec[i] -= take;
        fig.excluded += take;
      }
    }
  }
  return out;
}

/** Each point's approved exclusion periods on whole seconds, sorted, overlaps merged (counted once). */
export function mergeWindows(windows: ReadonlyMap<string, readonly ExclusionWindow[]>): Map<string, Array<[number, number]>> {
  const out = new Map<string, Array<[number, number]>>();
  for (const [id, list] of windows) {
    const sorted = list.map((w): [number, number] => [second(w.from), second(w.to)]).filter(([a, b]) => b > a).sort((x, y) => x[0] - y[0]);
    const merged: Array<[number, number]> = [];
    for (const [a, b] of sorted) {
      const last = merged[merged.length - 1];
      if (last && a <= last[1]) last[1] = Math.max(last[1], b);
      else merged.push([a, b]);
    }
    if (merged.length) out.set(id, merged);
  }
  return out;
}
