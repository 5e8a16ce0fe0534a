/**
 * Calendar days and months in one configured time zone (REPORT_TZ), through Intl only. History documents
 * and reports count days from local midnight to local midnight, so a day is 86,400 s except on a
 * daylight-saving change (23 or 25 h); months are calendar months there.
 *
 * Keys are numbers: a day is yyyymmdd (20260615), a month yyyymm (202606).
 */

const HOUR = 3_600_000;

export interface CalendarDay {
  /** yyyymmdd */
  key: number;
  /** yyyymm */
  month: number;
  /** day of the month, 1–31 */
  dom: number;
  /** local midnight (epoch ms) */
  start: number;
  /** the next local midnight (epoch ms) */
  end: number;
}

/** Whether `tz` is a time zone Intl knows (config validation). */
export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

export function monthOfDay(dayKey: number): number {
  return Math.floor(dayKey / 100);
}

/** Days of a month key (28–31). */
export function daysInMonth(month: number): number {
  const y = Math.floor(month / 100);
  const m = month % 100;
  return new Date(Date.UTC(y, m, 0)).getUTCDate();
}

export function nextMonth(month: number): number {
  const y = Math.floor(month / 100);
  const m = month % 100;
  return m === 12 ? (y + 1) * 100 + 1 : month + 1;
}

/** The month `n` months before (n ≥ 0). */
export function monthsBefore(month: number, n: number): number {
  const total = Math.floor(month / 100) * 12 + ((month % 100) - 1) - n;
  return Math.floor(total / 12) * 100 + (total % 12) + 1;
}

export class Calendar {
  private readonly fmt: Intl.DateTimeFormat;
  private readonly days = new Map<number, CalendarDay>();
  /** The day asked for last (the hot path asks for the same day thousands of times a second). */
  private last: CalendarDay | null = null;

  constructor(readonly timeZone: string) {
    this.fmt = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
  }

  /** Local wall-clock fields of an instant. */
  private fields(t: number): { y: number; mo: number; d: number; h: number; mi: number; s: number } {
    const out = { y: 0, mo: 0, d: 0, h: 0, mi: 0, s: 0 };
    for (const p of this.fmt.formatToParts(new Date(t))) {
      if (p.type === 'year') out.y = Number(p.value);
      else if (p.type === 'month') out.mo = Number(p.value);
      else if (p.type === 'day') out.d = Number(p.value);
      else if (p.type === 'hour') out.h = Number(p.value);
      else if (p.type === 'minute') out.mi = Number(p.value);
      else if (p.type === 'second') out.s = Number(p.value);
    }
    return out;
  }

  /** Offset of local time from UTC at instant t (ms, whole seconds). */
  private offset(t: number): number {
    const f = this.fields(t);
    return Date.UTC(f.y, f.mo - 1, f.d, f.h, f.mi, f.s) - Math.floor(t / 1000) * 1000;
  }

  /** The instant of a local wall-clock time (the earlier one when it occurs twice, the next valid one when skipped). */
  instantOf(y: number, mo: number, d: number, h = 0, mi = 0): number {
    const wall = Date.UTC(y, mo - 1, d, h, mi);
    // the offsets a day before and after cover any one change of the zone's offset around this time
    let best: number | null = null;
    for (const o of [this.offset(wall - 86_400_000), this.offset(wall + 86_400_000)]) {
      const t = wall - o;
      if (t + this.offset(t) === wall && (best === null || t < best)) best = t;
    }
    if (best !== null) return best;
    // skipped by a change (spring): read with the offset before the gap, i.e. as far past the gap as it was into it
    return wall - this.offset(wall - 86_400_000);
  }

  /** The calendar day holding instant t. */
  dayOf(t: number): CalendarDay {
    const last = this.last;
    if (last && t >= last.start && t < last.end) return last;
    const f = this.fields(t);
    const day = this.day(f.y * 10000 + f.mo * 100 + f.d);
    this.last = day;
    return day;
  }

  /** The calendar day of a key (yyyymmdd). */
  day(key: number): CalendarDay {
    let day = this.days.get(key);
    if (day) return day;
    const y = Math.floor(key / 10000);
    const mo = Math.floor(key / 100) % 100;
    const d = key % 100;
    const start = this.instantOf(y, mo, d);
    const next = new Date(Date.UTC(y, mo - 1, d + 1));
    const end = this.instantOf(next.getUTCFullYear(), next.getUTCMonth() + 1, next.getUTCDate());
    day = { key, month: Math.floor(key / 100), dom: d, start, end };
    if (this.days.size > 4096) this.days.clear();
    this.days.set(key, day);
    return day;
  }

  nextDay(key: number): number {
    const y = Math.floor(key / 10000);
    const mo = Math.floor(key / 100) % 100;
    const d = key % 100;
    const next = new Date(Date.UTC(y, mo - 1, d + 1));
    return next.getUTCFullYear() * 10000 + (next.getUTCMonth() + 1) * 100 + next.getUTCDate();
  }

  /** The local midnight starting a month (yyyymm). */
  monthStart(month: number): number {
    return this.day(month * 100 + 1).start;
  }

  /** Hour slot of instant t within its day: index 0.. (24 on a 25-hour day) and the slot's bounds. */
  hourSlot(t: number): { day: CalendarDay; index: number; start: number; end: number } {
    const day = this.dayOf(t);
    const index = Math.floor((t - day.start) / HOUR);
    const start = day.start + index * HOUR;
    return { day, index, start, end: Math.min(start + HOUR, day.end) };
  }

  /** Instants of the given local times ("HH:MM") on a day. */
  instantsOn(key: number, times: readonly string[]): number[] {
    const y = Math.floor(key / 10000);
    const mo = Math.floor(key / 100) % 100;
    const d = key % 100;
    return times.map((hm) => {
      const [h, mi] = hm.split(':').map(Number);
      return this.instantOf(y, mo, d, h, mi);
    });
  }
}
