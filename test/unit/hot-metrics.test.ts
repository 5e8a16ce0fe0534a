import { expect } from 'chai';
import { Histogram, Registry } from 'prom-client';
import { HotCounter, HotHistogram } from '../../server/src/monitoring/hot-metrics';

describe('hot-path metrics (typed-array counters and histograms)', () => {
  it('when values are observed, then /metrics text equals what a prom-client Histogram prints for the same values', async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const buckets = [0.001, 0.01, 0.1, 1];
    const h = new HotHistogram(ours, 'x_seconds', 'help text', buckets, { name: 'kind', values: ['tcp', 'rtsp'] });
    const ref = new Histogram({ name: 'x_seconds', help: 'help text', labelNames: ['kind'], buckets, registers: [theirs] });
    ref.labels('tcp');
    ref.labels('rtsp');
    for (const [v, k] of [[0.0005, 0], [0.001, 0], [0.05, 1], [3, 1], [0.2, 0]] as const) {
      h.observe(v, k);
      ref.labels(k === 0 ? 'tcp' : 'rtsp').observe(v);
    }
    expect(await ours.metrics()).to.equal(await theirs.metrics());
  });

  it('when a counter slot is incremented, then only that label combination counts, and reset zeroes it', async () => {
    const reg = new Registry();
    const c = new HotCounter(reg, 'y_total', 'help', ['kind', 'outcome'], [['tcp', 'rtsp'], ['ok', 'timeout', 'reset']]);
    c.inc(c.slot(1, 2), 3);
    c.inc(c.slotOf({ kind: 'tcp', outcome: 'ok' }));
    const text = await reg.metrics();
    expect(text).to.match(/y_total\{kind="rtsp",outcome="reset"\} 3/);
    expect(text).to.match(/y_total\{kind="tcp",outcome="ok"\} 1/);
    expect(text).to.match(/y_total\{kind="tcp",outcome="timeout"\} 0/);
    expect(c.total()).to.equal(4);
    c.reset();
    expect(c.total()).to.equal(0);
  });
});
