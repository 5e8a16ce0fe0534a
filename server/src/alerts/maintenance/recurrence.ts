import { CronExpressionParser } from 'cron-parser';
import { LAST_DAY_OF_MONTH, type MaintenanceSchedule } from '../../contracts/maintenance';
import { daysInMonth, type Calendar } from '../../lib/calendar';

/**
 * When a maintenance window is open: pure functions of a schedule, an instant and the one calendar
 * (REPORT_TZ, `lib/calendar.ts`). Local times are read in that zone, so a window "Tuesday 22:00–02:00" opens at
 * 22:00 on the wall clock there in summer and in winter alike.
 *
 * Rules worth knowing:
 * - A weekly or monthly occurrence runs from its day's local `start` to local `end`, on the next day when `end`
 *   is not after `start`. A local time skipped by a daylight-saving change is read as the next valid instant
 *   (02:30 → 03:30 in Berlin on the spring change), a repeated one as its first instant; an occurrence left
 *   empty by that (02:00–03:00 on the spring change) does not happen.
 * - Days of the month the month lacks are skipped (31 in April); -1 is the last day of every month.
 * - A cron occurrence opens at each time the expression names in the zone (cron-parser with `tz`) and lasts
 *   `durationMin` minutes of real time.
 */

export interface Occurrence {
  start: number;
  end: number;
}

const DAY = 86_400_000;
/** How far ahead `upcoming` looks for weekly and monthly schedules (day 29–31 lists skip at most two months). */
const HORIZON_DAYS = 400;

const partsOf = (key: number): { y: number; mo: number; d: number } => ({ y: Math.floor(key / 10000), mo: Math.floor(key / 100) % 100, d: key % 100 });
const keyOf = (date: Date): number => date.getUTCFullYear() * 10000 + (date.getUTCMonth() + 1) * 100 + date.getUTCDate();

function addDays(key: number, n: number): number {
  const { y, mo, d } = partsOf(key);
  return keyOf(new Date(Date.UTC(y, mo - 1, d + n)));
}

/** ISO weekday of a calendar day key: 1 = Monday … 7 = Sunday. */
export function isoWeekday(key: number): number {
  const { y, mo, d } = partsOf(key);
  const w = new Date(Date.UTC(y, mo - 1, d)).getUTCDay();
  return w === 0 ? 7 : w;
}

const minutesOf = (hm: string): number => Number(hm.slice(0, 2)) * 60 + Number(hm.slice(3, 5));

type DaySchedule = Extract<MaintenanceSchedule, { kind: 'weekly' | 'monthly' }>;

function runsOn(s: DaySchedule, key: number): boolean {
  if (s.kind === 'weekly') return s.days.includes(isoWeekday(key));
  const { d } = partsOf(key);
  return s.days.includes(d) || (s.days.includes(LAST_DAY_OF_MONTH) && d === daysInMonth(Math.floor(key / 100)));
}

/** The occurrence that starts on local day `key`, if the schedule runs that day. */
function occurrenceOn(s: DaySchedule, key: number, cal: Calendar): Occurrence | null {
  if (!runsOn(s, key)) return null;
  const from = minutesOf(s.start);
  const to = minutesOf(s.end);
  const { y, mo, d } = partsOf(key);
  const endKey = to > from ? key : addDays(key, 1);
  const e = partsOf(endKey);
  const start = cal.instantOf(y, mo, d, Math.floor(from / 60), from % 60);
  const end = cal.instantOf(e.y, e.mo, e.d, Math.floor(to / 60), to % 60);
  return end > start ? { start, end } : null;
}

function cronAt(expression: string, at: number, tz: string): ReturnType<typeof CronExpressionParser.parse> {
  return CronExpressionParser.parse(expression, { currentDate: new Date(at), tz });
}

/** Whether a cron expression parses and fires at least once within the next ~13 months (validation). */
export function cronProblem(expression: string, tz: string, now = Date.now()): string | null {
  try {
    const next = cronAt(expression, now, tz).next().getTime();
    if (next - now > HORIZON_DAYS * DAY) return 'never fires within the next 13 months';
    return null;
  } catch (err) {
    return err instanceof Error ? err.message : 'not a cron expression';
  }
}

/** The latest cron time at or before `t` (null when none, or the expression does not parse). */
function cronLatest(expression: string, t: number, tz: string): number | null {
  try {
    // cron-parser counts whole seconds: ask from just after t so that a time exactly at t counts
    return cronAt(expression, Math.floor(t / 1000) * 1000 + 1000, tz).prev().getTime();
  } catch {
    return null;
  }
}

/** The occurrence open at `t` (start ≤ t < end); of two, the one ending later. Null when the window is closed. */
export function occurrenceAt(s: MaintenanceSchedule, t: number, cal: Calendar): Occurrence | null {
  switch (s.kind) {
    case 'once': {
      const start = Date.parse(s.startsAt);
      const end = Date.parse(s.endsAt);
      return start <= t && t < end ? { start, end } : null;
    }
    case 'weekly':
    case 'monthly': {
      // an occurrence lasts at most a day (plus a DST hour): it started today or yesterday
      const today = cal.dayOf(t).key;
      let best: Occurrence | null = null;
      for (const key of [addDays(today, -1), today]) {
        const o = occurrenceOn(s, key, cal);
        if (o && o.start <= t && t < o.end && (!best || o.end > best.end)) best = o;
      }
      return best;
    }
    case 'cron': {
      // every occurrence lasts the same: the latest start is the one ending last
      const start = cronLatest(s.expression, t, cal.timeZone);
      if (start === null) return null;
      const end = start + s.durationMin * 60_000;
      return t < end ? { start, end } : null;
    }
  }
}

/** Occurrences that end after `t`, in order of their start: the open one (if any) first, then up to `n` in all. */
export function upcoming(s: MaintenanceSchedule, t: number, cal: Calendar, n: number): Occurrence[] {
  const out: Occurrence[] = [];
  if (n <= 0) return out;
  switch (s.kind) {
    case 'once': {
      const end = Date.parse(s.endsAt);
      if (end > t) out.push({ start: Date.parse(s.startsAt), end });
      return out;
    }
    case 'weekly':
    case 'monthly': {
      let key = addDays(cal.dayOf(t).key, -1);
      for (let i = 0; i <= HORIZON_DAYS && out.length < n; i++, key = addDays(key, 1)) {
        const o = occurrenceOn(s, key, cal);
        if (o && o.end > t) out.push(o);
      }
      return out;
    }
    case 'cron': {
      const dur = s.durationMin * 60_000;
      const open = occurrenceAt(s, t, cal);
      if (open) out.push(open);
      try {
        const it = cronAt(s.expression, t, cal.timeZone);
        while (out.length < n) {
          const start = it.next().getTime();
          if (start - t > HORIZON_DAYS * DAY) break;
          if (!open || start !== open.start) out.push({ start, end: start + dur });
        }
      } catch {
        // no further time (or an expression that no longer parses): what we have
      }
      return out;
    }
  }
}

/**
 * The next instant after `t` at which the window may open or close (the end of the open occurrence or the
 * start of the next one); null when it never changes again. The scheduler aims its timer at it.
 */
export function nextChange(s: MaintenanceSchedule, t: number, cal: Calendar): number | null {
  let best: number | null = null;
  for (const o of upcoming(s, t, cal, 3)) {
    for (const at of [o.start, o.end]) if (at > t && (best === null || at < best)) best = at;
  }
  return best;
}
