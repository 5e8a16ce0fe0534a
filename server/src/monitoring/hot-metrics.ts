import type { Metric, Registry } from 'prom-client';

/**
 * Counters and histograms for the probe hot path. prom-client's own `inc()`/`observe()` convert, validate
 * and hash the label set on every call — several µs, paid twice or three times per check, thousands of
 * checks a second. These keep plain numbers in typed arrays indexed by label position and format them
 * only when scraped; to prom-client's Registry they are ordinary metrics (it formats whatever `get()`
 * returns), so /metrics text is the same as before.
 */

type LabelSet = Record<string, string | number>;

/** What prom-client's Registry formats: the shape its own metrics' `get()` returns. */
export interface Snapshot {
  name: string;
  help: string;
  type: 'counter' | 'histogram';
  aggregator: 'sum';
  values: Array<{ labels: LabelSet; value: number; metricName?: string }>;
}

interface Collectable {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'histogram';
  readonly aggregator: 'sum';
  get(): Promise<Snapshot>;
  reset(): void;
}

function register(registry: Registry, m: Collectable): void {
  // Registry only reads name/help/type/aggregator and calls get(): any object with them is a metric to it.
  registry.registerMetric(m as unknown as Metric);
}

/** A counter over the cross product of fixed label values (e.g. kind × outcome). */
export class HotCounter<L extends string> implements Collectable {
  readonly type = 'counter';
  readonly aggregator = 'sum';
  private readonly values: Float64Array;
  private readonly sets: LabelSet[];

  constructor(
    registry: Registry,
    readonly name: string,
    readonly help: string,
    private readonly labelNames: readonly L[],
    private readonly labelValues: ReadonlyArray<readonly string[]>,
  ) {
    this.sets = product(labelNames, labelValues);
    this.values = new Float64Array(this.sets.length);
    register(registry, this);
  }

  /** Index of a label combination (positions in each label's value list); resolve once, reuse on the hot path. */
  slot(...positions: number[]): number {
    let i = 0;
    for (let k = 0; k < positions.length; k++) i = i * this.labelValues[k].length + positions[k];
    return i;
  }

  slotOf(labels: Record<L, string>): number {
    return this.slot(...this.labelNames.map((n, k) => this.labelValues[k].indexOf(labels[n])));
  }

  inc(slot: number, by = 1): void {
    this.values[slot] += by;
  }

  total(): number {
    let t = 0;
    for (const v of this.values) t += v;
    return t;
  }

  get(): Promise<Snapshot> {
    const values = this.sets.map((labels, i) => ({ labels, value: this.values[i] }));
    return Promise.resolve({ name: this.name, help: this.help, type: 'counter', aggregator: 'sum', values });
  }

  reset(): void {
    this.values.fill(0);
  }
}

/** A histogram with fixed buckets, optionally split by one label with fixed values. */
export class HotHistogram implements Collectable {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  /** Per series: one count per bucket (not cumulative), then +Inf. */
  private readonly counts: Float64Array;
  private readonly sums: Float64Array;
  private readonly series: LabelSet[];

  constructor(
    registry: Registry,
    readonly name: string,
    readonly help: string,
    private readonly buckets: readonly number[],
    label?: { name: string; values: readonly string[] },
  ) {
    this.series = label ? label.values.map((v) => ({ [label.name]: v })) : [{}];
    this.counts = new Float64Array(this.series.length * (buckets.length + 1));
    this.sums = new Float64Array(this.series.length);
    register(registry, this);
  }

  observe(value: number, series = 0): void {
    const b = this.buckets;
    let i = 0;
    while (i < b.length && value > b[i]) i++;
    this.counts[series * (b.length + 1) + i] += 1;
    this.sums[series] += value;
  }

  get(): Promise<Snapshot> {
    const values: Snapshot['values'] = [];
    const width = this.buckets.length + 1;
    this.series.forEach((labels, s) => {
      let cum = 0;
      for (let i = 0; i < width; i++) {
        cum += this.counts[s * width + i];
        const le = i < this.buckets.length ? this.buckets[i] : '+Inf';
        values.push({ labels: { le, ...labels }, value: cum, metricName: `${this.name}_bucket` });
      }
      values.push({ labels, value: this.sums[s], metricName: `${this.name}_sum` });
      values.push({ labels, value: cum, metricName: `${this.name}_count` });
    });
    return Promise.resolve({ name: this.name, help: this.help, type: 'histogram', aggregator: 'sum', values });
  }

  reset(): void {
    this.counts.fill(0);
    this.sums.fill(0);
  }
}

function product(names: readonly string[], values: ReadonlyArray<readonly string[]>): LabelSet[] {
  let out: LabelSet[] = [{}];
  names.forEach((n, k) => {
    const next: LabelSet[] = [];
    for (const base of out) for (const v of values[k]) next.push({ ...base, [n]: v });
    out = next;
  });
  return out;
}
