import fs from 'node:fs';
import http from 'node:http';
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

  it('when an import is running (its file still uploading), then a second one gets 409 naming it; after it ends the next one runs', async () => {
    const boundary = `----vigil${Date.now()}`;
    const csv = gbk(csvText(demoColumns, demoRows(d, d.points.slice(0, 50))));
    const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="slow.csv"\r\nContent-Type: text/csv\r\n\r\n`);
    const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
    const url = new URL(`${app.baseUrl}/api/v1/cameras/import?mode=valid-only&async=true`);
    const first = http.request(url, { method: 'POST', headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': String(head.length + csv.length + tail.length) } });
    const firstAnswer = new Promise<{ status: number; body: ImportJob }>((resolve, reject) => {
      first.on('response', (r) => {
        let text = '';
        r.on('data', (c: Buffer) => (text += c.toString()));
        r.on('end', () => resolve({ status: r.statusCode ?? 0, body: JSON.parse(text) as ImportJob }));
      });
      first.on('error', reject);
    });
    first.write(Buffer.concat([head, csv.subarray(0, 100)]));

    // the first request holds the slot once its handler runs: ask until it does
    let second = await upload(app, csv, { query: 'mode=dry-run' });
    for (let i = 0; second.status !== 409 && i < 200; i++) {
      await new Promise((r) => setTimeout(r, 50));
      second = await upload(app, csv, { query: 'mode=dry-run' });
    }
    expect(second.status, JSON.stringify(second.body)).to.equal(409);
    expect(second.body.error.code).to.equal('conflict');
    const runningId = second.body.error.details.jobId as string;
    expect(runningId).to.match(/^[0-9a-f]{24}$/);
    expect(second.body.error.message).to.contain(runningId);
    const uploading = await job(runningId);
    expect(uploading).to.include({ state: 'running', phase: 'upload' });

    first.end(Buffer.concat([csv.subarray(100), tail]));
    const answer = await firstAnswer;
    expect(answer.status).to.equal(202);
    expect(answer.body.id).to.equal(runningId);
    let view = answer.body;
    while (view.state === 'running') {
      await new Promise((r) => setTimeout(r, 50));
      view = await job(runningId);
    }
    expect(view.state).to.equal('done');
    expect(view.report?.totals).to.include({ created: 50 });
    expect(view.progress).to.include({ rowsToApply: 50, rowsApplied: 50 });
    expect(await cameraCount(app)).to.equal(50);

    const next = await upload(app, csv, { query: 'mode=dry-run' });
    expect(next.status).to.equal(200);
    expect(next.body.totals).to.include({ rows: 50, unchanged: 50 });
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
