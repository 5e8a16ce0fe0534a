import { expect } from 'chai';
import { Calendar, daysInMonth, monthsBefore, nextMonth } from '../../server/src/lib/calendar';

describe('calendar of a time zone (REPORT_TZ)', () => {
  it('when the zone is Asia/Shanghai, then days run from 16:00 UTC to 16:00 UTC and hour slots follow local hours', () => {
    const cal = new Calendar('Asia/Shanghai');
    const day = cal.dayOf(Date.UTC(2026, 5, 30, 15, 59, 59));
    expect(day).to.include({ key: 20260630, month: 202606, dom: 30, start: Date.UTC(2026, 5, 29, 16), end: Date.UTC(2026, 5, 30, 16) });
    expect(cal.dayOf(Date.UTC(2026, 5, 30, 16)).key).to.equal(20260701);
    const slot = cal.hourSlot(Date.UTC(2026, 5, 30, 15, 30));
    expect([slot.index, slot.start, slot.end]).to.deep.equal([23, Date.UTC(2026, 5, 30, 15), Date.UTC(2026, 5, 30, 16)]);
    expect(cal.instantsOn(20260601, ['08:00', '20:00'])).to.deep.equal([Date.UTC(2026, 5, 1, 0), Date.UTC(2026, 5, 1, 12)]);
  });

  it('when a zone changes to or from daylight saving, then that day has 23 or 25 hours and a 25th hour slot', () => {
    const cal = new Calendar('America/New_York');
    const spring = cal.day(20260308);
    const autumn = cal.day(20261101);
    expect((spring.end - spring.start) / 3_600_000).to.equal(23);
    expect((autumn.end - autumn.start) / 3_600_000).to.equal(25);
    expect(cal.hourSlot(autumn.end - 1).index).to.equal(24);
    expect(spring.start).to.equal(Date.UTC(2026, 2, 8, 5));
  });

  it('when a local time occurs twice or not at all (daylight saving), then instantOf gives the earlier one, or the instant just after the gap', () => {
    const berlin = new Calendar('Europe/Berlin');
    // 25 October 2026: 03:00 CEST → 02:00 CET, so 02:30 is 00:30 UTC and again 01:30 UTC
    expect(berlin.instantOf(2026, 10, 25, 2, 30)).to.equal(Date.UTC(2026, 9, 25, 0, 30));
    // 29 March 2026: 02:00 CET → 03:00 CEST, so 02:30 does not exist: 03:30 CEST
    expect(berlin.instantOf(2026, 3, 29, 2, 30)).to.equal(Date.UTC(2026, 2, 29, 1, 30));
    const ny = new Calendar('America/New_York');
    // 1 November 2026: 02:00 EDT → 01:00 EST, so 01:30 is 05:30 UTC and again 06:30 UTC
    expect(ny.instantOf(2026, 11, 1, 1, 30)).to.equal(Date.UTC(2026, 10, 1, 5, 30));
    expect(ny.instantOf(2026, 3, 8, 2, 30), 'skipped: 03:30 EDT').to.equal(Date.UTC(2026, 2, 8, 7, 30));
    expect(new Calendar('Asia/Shanghai').instantOf(2026, 6, 15, 8, 0)).to.equal(Date.UTC(2026, 5, 15, 0));
  });

  it('when months are counted, then lengths, the next month and months before cross years', () => {
    expect([daysInMonth(202602), daysInMonth(202802), daysInMonth(202607), daysInMonth(202606)]).to.deep.equal([28, 29, 31, 30]);
    expect([nextMonth(202612), nextMonth(202606)]).to.deep.equal([202701, 202607]);
    expect([monthsBefore(202606, 12), monthsBefore(202601, 1), monthsBefore(202606, 0)]).to.deep.equal([202506, 202512, 202606]);
  });
});
