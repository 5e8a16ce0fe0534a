import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { expect } from 'chai';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { confirmedStates } from '../../server/src/contracts/live';
import { flushTargets } from '../../server/src/monitoring/metrics';
import { bootApp, type TestApp } from '../helpers/app';

/** Debian's `prometheus` package; .ci/run installs it. A missing promtool is a failure, never a skip. */
const PROMTOOL = process.env.PROMTOOL_PATH ?? '/usr/bin/promtool';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parseExposition(text: string): { types: Map<string, string>; samples: Sample[] } {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) types.set(type[1], type[2]);
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[k] = v;
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return { types, samples };
}

/** Names of the metrics prom-client's collectDefaultMetrics adds (under Vigil's prefix), asked of prom-client itself. */
async function promClientDefaultNames(): Promise<Set<string>> {
  const r = new Registry();
  collectDefaultMetrics({ register: r, prefix: 'vigil_' });
  return new Set((await r.getMetricsAsJSON()).map((m) => m.name));
}

function promtool(text: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = execFile(PROMTOOL, ['check', 'metrics'], { timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err && typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : err ? -1 : 0;
      resolve({ code, output: `${stdout}${stderr}` });
    });
    child.stdin?.end(text);
  });
}

describe('metrics: /metrics for Prometheus', function () {
  this.timeout(60_000);
  let app: TestApp;
  let text: string;

  before(async () => {
    app = await bootApp({ MONITOR_ENABLED: 'true' });
    const res = await fetch(`${app.baseUrl}/metrics`);
    expect(res.status).to.equal(200);
    text = await res.text();
  });
  after(async () => {
    await app?.close();
  });

  it('when nothing has happened yet, then vigil_transitions_total has a series at 0 for every state a transition can announce', () => {
    const series = parseExposition(text).samples.filter((s) => s.name === 'vigil_transitions_total');
    expect(series.map((s) => s.labels.to)).to.have.members([...confirmedStates]);
    for (const s of series) expect(s.value, `to=${s.labels.to}`).to.equal(0);
  });

  it('when no store flush has failed, then vigil_store_flush_failures_total has a series at 0 for every kind of write', () => {
    const series = parseExposition(text).samples.filter((s) => s.name === 'vigil_store_flush_failures_total');
    expect(series.map((s) => s.labels.what)).to.have.members([...flushTargets]);
    for (const s of series) expect(s.value, `what=${s.labels.what}`).to.equal(0);
  });

  it('when /metrics is scraped before any event, then every Vigil counter already has a series (none appears only with its first event)', async () => {
    const defaults = await promClientDefaultNames();
    const { types, samples } = parseExposition(text);
    const counters = [...types].filter(([name, type]) => type === 'counter' && !defaults.has(name)).map(([name]) => name);
    expect(counters).to.include.members(['vigil_transitions_total', 'vigil_store_flush_failures_total', 'vigil_probes_total']);
    for (const name of counters) expect(samples.some((s) => s.name === name), `${name} has no series`).to.equal(true);
  });

  it('when promtool checks the live /metrics output, then it finds no problem outside prom-client\'s default metrics', async () => {
    expect(fs.existsSync(PROMTOOL), `${PROMTOOL} is missing: apt-get install -y prometheus (or set PROMTOOL_PATH)`).to.equal(true);
    const defaults = await promClientDefaultNames();
    const { code, output } = await promtool(text);
    const problems = output.split('\n').filter((l) => l.trim() !== '');
    // promtool exits 3 for lint problems and 1 for a text it cannot parse
    expect(code, output).to.be.oneOf([0, 3]);
    const ours = problems.filter((l) => !defaults.has(l.split(/\s/)[0]));
    expect(ours, output).to.deep.equal([]);
  });
});
