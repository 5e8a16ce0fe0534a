import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { planInWorker } from '../../server/src/cameras/transfer/worker';
import { csvText, demo, demoColumns, demoRows } from '../fixtures/transfer';

/**
 * Issue #12, finding 1 (defect found 2026-12-03): the import worker kept every code of the file in its
 * duplicate table as V8 had cut it from the decoded text — a view into a whole 256 KiB piece of the file —
 * so a million codes kept the file's text alive: the 1,000,000-row bench file peaked at 635 MB of process
 * RSS while planned (286 MB after), and a 256 MiB worker refused it half way. Here a file whose text is
 * mostly an ignored column (~84 MB of it, three thousand rows, read 100 at a time) is planned by a worker with a 48 MiB heap:
 * the codes and a few batches fit easily; the file's text does not.
 */
describe('import planning memory (worker heap does not keep the file text)', function () {
  this.timeout(120_000);
  let dir = '';
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-plan-mem-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('plans a file larger than the worker heap when only its codes are kept', async () => {
    const d = demo();
    const points = d.points.slice(0, 3000);
    const filler = 'x'.repeat(28_000);
    const header = [...demoColumns, '备注'];
    const rows = demoRows(d, points).map((r, i) => [...r, `${i}${filler}`]);
    const file = path.join(dir, 'wide.csv');
    fs.writeFileSync(file, csvText(header, rows), 'utf8');
    expect(fs.statSync(file).size).to.be.greaterThan(80e6);
    const outcome = await planInWorker(
      file,
      { encoding: 'utf-8', xlsxMaxUnzippedBytes: 1 << 30, batchRows: 100 },
      {
        principal: { kind: 'dev', userId: 'dev', username: 'dev', role: 'admin', scopeRegionId: null },
        mode: 'dry-run',
        regions: d.regions.map((r) => ({ id: r.id, name: r.name, tier: r.tier, parentId: r.parentId, code: r.code, households: null })),
        probeDefaults: { PROBE_DEFAULT_KIND: 'tcp', PROBE_DEFAULT_INTERVAL_SEC: 60, PROBE_DEFAULT_TIMEOUT_MS: 3000, PROBE_DEFAULT_RETRIES: 3 },
        chunkRows: 100,
      },
      { meta: () => undefined, lookup: () => Promise.resolve([]), planned: () => Promise.resolve() },
      48,
    );
    expect(outcome.totals.rows).to.equal(3000);
    expect(outcome.skipped).to.equal(0);
  });
});
