import { expect } from 'chai';
import { cronProblem, isoWeekday, nextChange, occurrenceAt, upcoming } from '../../server/src/alerts/maintenance/recurrence';
import { maintenanceScheduleSchema, type MaintenanceSchedule } from '../../server/src/contracts/maintenance';
import { Calendar } from '../../server/src/lib/calendar';

const shanghai = new Calendar('Asia/Shanghai');
const berlin = new Calendar('Europe/Berlin');
const H = 3_600_000;
const utc = (y: number, mo: number, d: number, h = 0, mi = 0): number => Date.UTC(y, mo - 1, d, h, mi);
const iso = (t: number): string => new Date(t).toISOString();
const spans = (list: Array<{ start: number; end: number }>): string[] => list.map((o) => `${iso(o.start)}/${iso(o.end)}`);
const schedule = (s: unknown): MaintenanceSchedule => maintenanceScheduleSchema.parse(s);

describe('maintenance windows: when a schedule is open (REPORT_TZ)', () => {
  it('when days are numbered, then they are ISO weekdays (2026-06-15 is a Monday, 2026-06-21 a Sunday)', () => {
    expect([isoWeekday(20260615), isoWeekday(20260616), isoWeekday(20260621), isoWeekday(20261202)]).to.deep.equal([1, 2, 7, 3]);
  });

  it('when a one-off window is asked, then it is open from startsAt (inclusive) to endsAt (exclusive)', () => {
    const s = schedule({ kind: 'once', startsAt: '2026-06-16T22:00:00+08:00', endsAt: '2026-06-17T02:00:00+08:00' });
    const start = utc(2026, 6, 16, 14);
    expect(occurrenceAt(s, start - 1, shanghai)).to.equal(null);
    expect(occurrenceAt(s, start, shanghai)).to.deep.equal({ start, end: start + 4 * H });
    expect(occurrenceAt(s, start + 4 * H, shanghai)).to.equal(null);
    expect(nextChange(s, start - H, shanghai)).to.equal(start);
    expect(nextChange(s, start + H, shanghai)).to.equal(start + 4 * H);
    expect(nextChange(s, start + 5 * H, shanghai)).to.equal(null);
  });

  it('when a weekly window crosses midnight (Tuesday 22:00–02:00 Shanghai), then it is open until 02:00 on Wednesday and not on Tuesday before 22:00', () => {
    const s = schedule({ kind: 'weekly', days: [2], start: '22:00', end: '02:00' });
    const tue22 = utc(2026, 6, 16, 14); // 22:00 +08:00
    expect(occurrenceAt(s, tue22 - 60_000, shanghai), 'Tuesday 21:59').to.equal(null);
    expect(occurrenceAt(s, tue22, shanghai)).to.deep.equal({ start: tue22, end: tue22 + 4 * H });
    expect(occurrenceAt(s, tue22 + 4 * H - 60_000, shanghai), 'Wednesday 01:59 belongs to Tuesday').to.deep.equal({ start: tue22, end: tue22 + 4 * H });
    expect(occurrenceAt(s, tue22 + 4 * H, shanghai), 'Wednesday 02:00').to.equal(null);
    expect(occurrenceAt(s, tue22 - 24 * H + 60_000, shanghai), 'Monday 22:01').to.equal(null);
    expect(spans(upcoming(s, tue22 + H, shanghai, 2))).to.deep.equal([
      `${iso(tue22)}/${iso(tue22 + 4 * H)}`,
      `${iso(tue22 + 7 * 24 * H)}/${iso(tue22 + 7 * 24 * H + 4 * H)}`,
    ]);
    expect(nextChange(s, tue22 + H, shanghai)).to.equal(tue22 + 4 * H);
    expect(nextChange(s, tue22 + 5 * H, shanghai)).to.equal(tue22 + 7 * 24 * H);
  });

  it('when a weekly window on Sunday crosses into Monday, then the week wraps (Sunday 23:00 → Monday 01:00)', () => {
    const s = schedule({ kind: 'weekly', days: [7], start: '23:00', end: '01:00' });
    const sun23 = utc(2026, 6, 21, 15);
    expect(occurrenceAt(s, sun23 + 90 * 60_000, shanghai), 'Monday 00:30').to.deep.equal({ start: sun23, end: sun23 + 2 * H });
    expect(spans(upcoming(s, utc(2026, 6, 20, 4), shanghai, 1)), 'asked on Saturday').to.deep.equal([`${iso(sun23)}/${iso(sun23 + 2 * H)}`]);
  });

  it('when start equals end, then the window lasts the whole day (00:00–00:00)', () => {
    const s = schedule({ kind: 'weekly', days: [3], start: '00:00', end: '00:00' });
    expect(occurrenceAt(s, utc(2026, 6, 17, 10), shanghai)).to.deep.equal({ start: utc(2026, 6, 16, 16), end: utc(2026, 6, 17, 16) });
  });

  it('when the zone is Europe/Berlin, then local times follow its daylight saving (Monday 08:00 is 07:00 UTC in winter, 06:00 UTC in summer), unlike Shanghai', () => {
    const s = schedule({ kind: 'weekly', days: [1], start: '08:00', end: '09:00' });
    expect(upcoming(s, utc(2026, 1, 10), berlin, 1)[0]).to.deep.equal({ start: utc(2026, 1, 12, 7), end: utc(2026, 1, 12, 8) });
    expect(upcoming(s, utc(2026, 6, 10), berlin, 1)[0]).to.deep.equal({ start: utc(2026, 6, 15, 6), end: utc(2026, 6, 15, 7) });
    expect(upcoming(s, utc(2026, 6, 10), shanghai, 1)[0]).to.deep.equal({ start: utc(2026, 6, 15, 0), end: utc(2026, 6, 15, 1) });
    expect(occurrenceAt(s, utc(2026, 6, 15, 6, 30), berlin)).to.not.equal(null);
    expect(occurrenceAt(s, utc(2026, 6, 15, 7, 30), berlin), '09:30 CEST').to.equal(null);
  });

  it('when a window spans the spring change in Berlin, then it lasts the wall-clock hours less one; a skipped start reads as the next valid instant; an emptied window does not happen', () => {
    // 29 March 2026: 02:00 CET becomes 03:00 CEST (01:00 UTC)
    const across = schedule({ kind: 'weekly', days: [7], start: '01:30', end: '03:30' });
    expect(upcoming(across, utc(2026, 3, 28), berlin, 1)[0]).to.deep.equal({ start: utc(2026, 3, 29, 0, 30), end: utc(2026, 3, 29, 1, 30) });
    const skipped = schedule({ kind: 'weekly', days: [7], start: '02:30', end: '04:00' });
    expect(upcoming(skipped, utc(2026, 3, 28), berlin, 1)[0]).to.deep.equal({ start: utc(2026, 3, 29, 1, 30), end: utc(2026, 3, 29, 2) });
    const emptied = schedule({ kind: 'weekly', days: [7], start: '02:00', end: '03:00' });
    expect(upcoming(emptied, utc(2026, 3, 28), berlin, 1)[0], 'the next Sunday instead').to.deep.equal({ start: utc(2026, 4, 5, 0), end: utc(2026, 4, 5, 1) });
    // 25 October 2026: 03:00 CEST becomes 02:00 CET; 02:30 happens twice, the first one counts
    const autumn = schedule({ kind: 'weekly', days: [7], start: '02:30', end: '04:00' });
    expect(upcoming(autumn, utc(2026, 10, 24), berlin, 1)[0]).to.deep.equal({ start: utc(2026, 10, 25, 0, 30), end: utc(2026, 10, 25, 3) });
  });

  it('when a monthly window names day 31, then months without it are skipped; -1 is every last day, leap February included', () => {
    const d31 = schedule({ kind: 'monthly', days: [31], start: '01:00', end: '03:00' });
    expect(upcoming(d31, utc(2026, 4, 1), shanghai, 3).map((o) => iso(o.start))).to.deep.equal([
      iso(utc(2026, 5, 30, 17)), // 31 May 01:00 +08:00
      iso(utc(2026, 7, 30, 17)), // 31 July (June has 30)
      iso(utc(2026, 8, 30, 17)),
    ]);
    const last = schedule({ kind: 'monthly', days: [-1], start: '22:00', end: '02:00' });
    expect(upcoming(last, utc(2026, 2, 1), shanghai, 3).map((o) => iso(o.start))).to.deep.equal([
      iso(utc(2026, 2, 28, 14)),
      iso(utc(2026, 3, 31, 14)),
      iso(utc(2026, 4, 30, 14)),
    ]);
    expect(upcoming(last, utc(2028, 2, 1), shanghai, 1)[0].start, '2028 is a leap year').to.equal(utc(2028, 2, 29, 14));
    // the last day's window crosses into the 1st of the next month
    expect(occurrenceAt(last, utc(2026, 2, 28, 17), shanghai), '1 March 01:00').to.deep.equal({ start: utc(2026, 2, 28, 14), end: utc(2026, 2, 28, 18) });
    expect(occurrenceAt(last, utc(2026, 3, 1, 14), shanghai), '1 March 22:00 is no last day').to.equal(null);
    const several = schedule({ kind: 'monthly', days: [1, 15, -1], start: '00:00', end: '06:00' });
    expect(upcoming(several, utc(2026, 6, 2), shanghai, 3).map((o) => iso(o.start))).to.deep.equal([iso(utc(2026, 6, 14, 16)), iso(utc(2026, 6, 29, 16)), iso(utc(2026, 6, 30, 16))]);
  });

  it('when a cron expression with a duration is read, then it opens at its times in the zone and stays open durationMin minutes', () => {
    const s = schedule({ kind: 'cron', expression: '0 22 * * 2', durationMin: 240 });
    const tue22 = utc(2026, 6, 16, 14);
    expect(occurrenceAt(s, tue22 - 1000, shanghai)).to.equal(null);
    expect(occurrenceAt(s, tue22, shanghai), 'open at its first instant').to.deep.equal({ start: tue22, end: tue22 + 4 * H });
    expect(occurrenceAt(s, tue22 + 4 * H - 1, shanghai)).to.deep.equal({ start: tue22, end: tue22 + 4 * H });
    expect(occurrenceAt(s, tue22 + 4 * H, shanghai)).to.equal(null);
    expect(spans(upcoming(s, tue22 + H, shanghai, 2))).to.deep.equal([
      `${iso(tue22)}/${iso(tue22 + 4 * H)}`,
      `${iso(tue22 + 7 * 24 * H)}/${iso(tue22 + 7 * 24 * H + 4 * H)}`,
    ]);
    const monday8 = schedule({ kind: 'cron', expression: '0 8 * * 1', durationMin: 60 });
    expect(upcoming(monday8, utc(2026, 1, 10), berlin, 1)[0].start, 'CET').to.equal(utc(2026, 1, 12, 7));
    expect(upcoming(monday8, utc(2026, 6, 10), berlin, 1)[0].start, 'CEST').to.equal(utc(2026, 6, 15, 6));
  });

  it('when a cron window lasts longer than its period, then it stays open across occurrences and its next change is its last end', () => {
    const s = schedule({ kind: 'cron', expression: '0 * * * *', durationMin: 90 });
    const t = utc(2026, 6, 16, 10, 30);
    expect(occurrenceAt(s, t, shanghai)).to.deep.equal({ start: utc(2026, 6, 16, 10), end: utc(2026, 6, 16, 11, 30) });
    expect(nextChange(s, t, shanghai), 'the next start: it stays open').to.equal(utc(2026, 6, 16, 11));
  });

  it('when a cron expression is unusable, then the reason is given; a usable one has none', () => {
    expect(cronProblem('0 22 * * 2', 'Asia/Shanghai')).to.equal(null);
    expect(cronProblem('61 * * * *', 'Asia/Shanghai')).to.be.a('string');
    expect(cronProblem('0 0 31 2 *', 'Asia/Shanghai'), '31 February never comes').to.be.a('string');
  });

  it('when a schedule is malformed, then the field is named', () => {
    const bad = (s: unknown): string[] => {
      const r = maintenanceScheduleSchema.safeParse(s);
      return r.success ? [] : r.error.issues.map((i) => i.path.join('.'));
    };
    expect(bad({ kind: 'weekly', days: [0], start: '22:00', end: '02:00' })).to.deep.equal(['days.0']);
    expect(bad({ kind: 'weekly', days: [1], start: '24:00', end: '02:00' })).to.deep.equal(['start']);
    expect(bad({ kind: 'monthly', days: [0], start: '22:00', end: '02:00' })).to.deep.equal(['days.0']);
    expect(bad({ kind: 'once', startsAt: '2026-06-16T22:00:00+08:00', endsAt: '2026-06-16T21:00:00+08:00' })).to.deep.equal(['endsAt']);
    expect(bad({ kind: 'cron', expression: '0 22 * *', durationMin: 60 })).to.deep.equal(['expression']);
  });
});
