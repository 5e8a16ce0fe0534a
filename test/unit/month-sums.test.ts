import { expect } from 'chai';
import { BSON, Double, Int32, Long } from 'bson';
import { historyFields, monthDocId, type MonthDoc } from '../../server/src/monitoring/history-store';
import { monthDays, sumMonthBytes, sumMonthDoc } from '../../server/src/monitoring/month-sums';
import { prng as rng } from '../../server/src/lib/prng';


/** A month document with each figure stored as int32, double or int64 (what a store may hand back), in any key order. */
function randomDoc(rand: () => number, i: number): { doc: MonthDoc; bytes: Uint8Array } {
  const typed = (n: number): unknown => {
    const r = rand();
    return r < 0.4 ? new Int32(n) : r < 0.8 ? new Double(n) : Long.fromNumber(n);
  };
  const doc: Record<string, unknown> = { _id: monthDocId(202606, `cam${i}`) };
  for (const f of [...historyFields, 'p', 's']) {
    if (rand() < 0.3) continue;
    const days: Record<string, unknown> = {};
    const doms = [...Array(30).keys()].map((d) => d + 1).filter(() => rand() < 0.5);
    if (rand() < 0.5) doms.reverse();
    for (const d of doms) days[String(d)] = typed(f === 's' ? Math.floor(rand() * 6) : Math.floor(rand() * 86_400));
    doc[f] = days;
  }
  if (rand() < 0.3) doc.k = { '1': 5 };
  if (rand() < 0.2) doc.note = 'ignored';
  const bytes = BSON.serialize(doc);
  return { doc: BSON.deserialize(bytes) as MonthDoc, bytes };
}

describe('month sums (monitoring/month-sums.ts): a month document summed from its bytes', () => {
  it('when 500 random documents are summed from bytes and decoded, then both give the same figures for any days and midnight', () => {
    const rand = rng(11);
    for (let i = 0; i < 500; i++) {
      const { doc, bytes } = randomDoc(rand, i);
      const doms = [...Array(31).keys()].map((d) => d + 1).filter(() => rand() < 0.6);
      const days = monthDays(doms, Math.floor(rand() * 31));
      const fromBytes = sumMonthBytes(bytes, days);
      expect(fromBytes, `document ${i}`).to.not.equal(null);
      expect(fromBytes).to.deep.equal(sumMonthDoc(doc, days));
    }
  });

  it('when days are summed, then exactly the figures of those days count: u of days 1–2 and d of day 2, s of day 2', () => {
    const bytes = BSON.serialize({ _id: '202606:abc', u: { '1': 86_400, '2': 72_000, '3': 86_400 }, d: { '2': 14_400 }, p: { '2': 60 }, s: { '1': 0, '2': 0, '3': 1 } });
    const sum = sumMonthBytes(bytes, monthDays([1, 2], 2));
    expect(sum).to.deep.equal({ cameraId: 'abc', sec: [158_400, 14_400, 0, 0, 0, 0], pending: 60, midnight: 0 });
    expect(sumMonthBytes(bytes, monthDays([3], 0))).to.deep.equal({ cameraId: 'abc', sec: [86_400, 0, 0, 0, 0, 0], pending: 0, midnight: undefined });
  });

  it('when keys are not days as a lookup finds them ("05", "32", "x"), then they are ignored, as by the decoded path', () => {
    const bytes = BSON.serialize({ _id: '202606:abc', u: { '05': 1, '32': 2, x: 3, '5': 4 } });
    const days = monthDays([5, 31], 0);
    expect(sumMonthBytes(bytes, days)?.sec[0]).to.equal(4);
    expect(sumMonthDoc(BSON.deserialize(bytes) as MonthDoc, days).sec[0]).to.equal(4);
  });

  it('when a figure is not a number or a field not a document, then the walk declines (the reader decodes that document instead)', () => {
    expect(sumMonthBytes(BSON.serialize({ _id: '202606:a', u: { '1': 'x' } }), monthDays([1], 0))).to.equal(null);
    expect(sumMonthBytes(BSON.serialize({ _id: '202606:a', d: 5 }), monthDays([1], 0))).to.equal(null);
    expect(sumMonthBytes(BSON.serialize({ _id: 7, u: { '1': 1 } }), monthDays([1], 0))).to.equal(null);
    const cut = BSON.serialize({ _id: '202606:a', u: { '1': 1 } });
    expect(sumMonthBytes(cut.subarray(0, cut.length - 3), monthDays([1], 0))).to.equal(null);
  });
});
