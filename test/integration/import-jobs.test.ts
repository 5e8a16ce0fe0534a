import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { bootApp, type TestApp } from '../helpers/app';
import { anonymous } from '../helpers/http';
import { cameraCount, csvText, demo, demoColumns, demoRows, gbk, loadDemoRegions, upload } from '../fixtures/transfer';
import { writeZipBomb } from '../../scripts/zip-bomb';
import type { ImportJob } from '../../server/src/contracts/import';

/**
 * Issue 12, finding 1: an import is read in a worker thread and checked batch by batch, runs as a job
 * whose progress can be followed, holds the registry's one import slot, and refuses zip bombs.
 */
describe('POST /cameras/import: jobs, progress, one at a time, zip bombs', function () {
  this.timeout(900_000);
  let app: TestApp;
  const d = demo();
  const code = demoColumns.indexOf('国标编码');
  const name = demoColumns.indexOf('名称');
  const upstream = demoColumns.indexOf('上级设备');

  /** The demo district's rows `copies` times over, each copy with codes of its own (network digit 1…9). */
  function bigCsv(copies: number): { buf: Buffer; rows: number } {
    const base = demoRows(d);
    const rows: string[][] = [];
    for (let k = 1; k <= copies; k++) {
      for (const r of base) {
        const c = [...r];
        c[code] = c[code].slice(0, 13) + String(k) + c[code].slice(14);
        c[name] = `${c[name]}-${k}`;
        c[upstream] = '';
        rows.push(c);
      }
    }
    return { buf: gbk(csvText(demoColumns, rows)), rows: rows.length };
  }

  async function job(id: string): Promise<ImportJob> {
    const res = await anonymous(app).request('GET', `/cameras/import/jobs/${id}`);
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    return res.body as ImportJob;
  }

  before(async () => {
    app = await bootApp({ AUTH_MODE: 'open', IMPORT_XLSX_MAX_UNZIPPED_BYTES: String(1_048_576) });
    await loadDemoRegions(app);
  });
  after(async () => app?.close());

  it('when a large import runs, then /healthz keeps answering and the job route shows rows read growing to the total, then the report', async () => {
    const file = bigCsv(8);
    const res = await upload(app, file.buf, { query: 'mode=dry-run&async=true' });
    expect(res.status, JSON.stringify(res.body)).to.equal(202);
    const started = res.body as ImportJob;
    expect(started).to.include({ state: 'running', mode: 'dry-run', filename: 'cameras.csv' });
    expect(started.progress.bytesTotal).to.equal(file.buf.length);

    const seen: ImportJob[] = [];
    let healthWhileReading = 0;
    let view = started;
    while (view.state === 'running') {
      const h = await fetch(`${app.baseUrl}/healthz`, { signal: AbortSignal.timeout(30_000) });
      expect(h.status).to.equal(200);
      view = await job(started.id);
      seen.push(view);
      if (view.state === 'running' && view.progress.rowsDone > 0 && view.progress.rowsDone < file.rows) healthWhileReading++;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(view.state, JSON.stringify(view.error)).to.equal('done');
    expect(view.progress).to.include({ rowsDone: file.rows, rowsTotal: file.rows, bytesDone: file.buf.length });
    expect(view.report?.totals).to.include({ rows: file.rows, valid: file.rows, invalid: 0, created: file.rows });
    expect(view.finishedAt).to.be.a('string');
    // the rows read went up while the server kept answering: the file is not read in one blocking piece
    expect(healthWhileReading, `job views: ${seen.map((v) => `${v.phase}:${v.progress.rowsDone}`).join(' ')}`).to.be.greaterThan(2);
    const readCounts = seen.filter((v) => v.state === 'running').map((v) => v.progress.rowsDone);
    expect(readCounts).to.deep.equal([...readCounts].sort((a, b) => a - b));
    expect(await cameraCount(app)).to.equal(0);
  });

  it('when an import is running, then a second one gets 409 naming it; after it ends the next one runs and shows rows written', async () => {
    const big = bigCsv(4);
    const res = await upload(app, big.buf, { query: 'mode=dry-run&async=true' });
    expect(res.status, JSON.stringify(res.body)).to.equal(202);
    const runningId = (res.body as ImportJob).id;
    const csv = gbk(csvText(demoColumns, demoRows(d, d.points.slice(0, 50))));
    const second = await upload(app, csv, { query: 'mode=valid-only' });
    expect(second.status, JSON.stringify(second.body)).to.equal(409);
    expect(second.body.error.code).to.equal('conflict');
    expect(second.body.error.details.jobId).to.equal(runningId);
    expect(second.body.error.message).to.contain(runningId);
    expect(await cameraCount(app)).to.equal(0);
    let view = await job(runningId);
    while (view.state === 'running') {
      await new Promise((r) => setTimeout(r, 100));
      view = await job(runningId);
    }
    expect(view.state).to.equal('done');

    const next = await upload(app, csv, { query: 'mode=valid-only&async=true' });
    expect(next.status).to.equal(202);
    view = next.body as ImportJob;
    while (view.state === 'running') {
      await new Promise((r) => setTimeout(r, 100));
      view = await job(view.id);
    }
    expect(view.state).to.equal('done');
    expect(view.report?.totals).to.include({ created: 50 });
    expect(view.report?.jobId).to.equal(view.id);
    expect(view.progress).to.include({ rowsToApply: 50, rowsApplied: 50 });
    expect(await cameraCount(app)).to.equal(50);
  });

  it('when an XLSX unzips beyond IMPORT_XLSX_MAX_UNZIPPED_BYTES (a zip bomb that lies about its size), then 413 names the limit and nothing is written', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-bomb-'));
    try {
      const file = path.join(dir, 'bomb.xlsx');
      writeZipBomb(file, 100_000); // ~30 MiB inflated, declared as 1 KiB
      const before = await cameraCount(app);
      const res = await upload(app, fs.readFileSync(file), { filename: 'bomb.xlsx', query: 'mode=valid-only' });
      expect(res.status, JSON.stringify(res.body)).to.equal(413);
      expect(res.body.error.code).to.equal('payload_too_large');
      expect(res.body.error.message).to.match(/unzips to more than 1048576 bytes \(IMPORT_XLSX_MAX_UNZIPPED_BYTES\)/);
      expect(await cameraCount(app)).to.equal(before);
      expect(await app.ctx.store.conn.collection('import_rows').countDocuments({})).to.equal(0);
      // the slot is free again
      const ok = await upload(app, gbk(csvText(demoColumns, demoRows(d, d.points.slice(0, 3)))), { query: 'mode=dry-run' });
      expect(ok.status).to.equal(200);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('when a job id is unknown or malformed, then 404', async () => {
    expect((await anonymous(app).request('GET', '/cameras/import/jobs/000000000000000000000000')).status).to.equal(404);
    expect((await anonymous(app).request('GET', '/cameras/import/jobs/nope')).status).to.equal(404);
  });
});
