import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { bootApp } from '../helpers/app';
import { runTs } from '../helpers/process';
import { cameraCount, csvText, demo, demoColumns, demoRows, gbk, loadDemoRegions } from '../fixtures/transfer';

/**
 * All-or-nothing without transactions: a process killed while staging leaves nothing; one killed after
 * the commit point, halfway through applying, is completed at the next start-up before requests are served.
 */
describe('POST /cameras/import: kill -9 mid-import', function () {
  this.timeout(600_000);
  let root: string;
  let file: string;

  before(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-crash-'));
    file = path.join(root, 'district.csv');
    fs.writeFileSync(file, gbk(csvText(demoColumns, demoRows(demo()))));
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  async function prepared(name: string): Promise<string> {
    const dataDir = path.join(root, name);
    fs.mkdirSync(dataDir);
    const app = await bootApp({ AUTH_MODE: 'open', DATA_DIR: dataDir });
    await loadDemoRegions(app);
    await app.close({ keepData: true });
    return dataDir;
  }

  it('when the process dies after the commit point with part of the rows applied, then the restart completes the import before serving', async () => {
    const dataDir = await prepared('apply');
    const child = runTs('test/fixtures/import-crash-child.ts', [], { DATA_DIR: dataDir, FILE: file, CRASH_AT: 'apply:2' });
    const m = await child.waitFor(/CRASH apply 2 points=(\d+)/, 300_000);
    const exit = await child.exited;
    expect(exit.signal).to.equal('SIGKILL');
    const atCrash = Number(m[1]);
    expect(atCrash).to.be.greaterThan(0).and.lessThan(demo().points.length);

    const app = await bootApp({ AUTH_MODE: 'open', DATA_DIR: dataDir });
    try {
      expect(await cameraCount(app)).to.equal(demo().points.length);
      const jobs = await app.ctx.store.conn.collection('import_jobs').find({}).toArray();
      expect(jobs).to.have.length(1);
      expect(jobs[0]).to.include({ state: 'done', recoveries: 1 });
      expect(await app.ctx.store.conn.collection('import_rows').countDocuments({})).to.equal(0);
      const nvrLinked = await app.registry.cameras.model.collection.countDocuments({ upstreamId: { $ne: null } });
      expect(nvrLinked).to.equal(demo().points.filter((p) => p.upstreamGbCode !== null).length);
    } finally {
      await app.close();
    }
  });

  it('when the process dies while staging, then the restart drops the job and the registry holds nothing of it', async () => {
    const dataDir = await prepared('stage');
    const child = runTs('test/fixtures/import-crash-child.ts', [], { DATA_DIR: dataDir, FILE: file, CRASH_AT: 'stage:2' });
    const m = await child.waitFor(/CRASH stage 2 points=(\d+)/, 300_000);
    expect((await child.exited).signal).to.equal('SIGKILL');
    expect(Number(m[1])).to.equal(0);

    const app = await bootApp({ AUTH_MODE: 'open', DATA_DIR: dataDir });
    try {
      expect(await cameraCount(app)).to.equal(0);
      const jobs = await app.ctx.store.conn.collection('import_jobs').find({}).toArray();
      expect(jobs.map((j) => j.state as string)).to.deep.equal(['aborted']);
      expect(await app.ctx.store.conn.collection('import_rows').countDocuments({})).to.equal(0);
    } finally {
      await app.close();
    }
  });
});
