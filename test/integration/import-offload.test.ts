import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { cameraInputSchema } from '../../server/src/cameras/schema';
import { writeZipBomb } from '../../scripts/zip-bomb';
import { bootApp, type TestApp } from '../helpers/app';
import { cameraCount, csvText, demo, demoColumns, demoRows, gbk, loadDemoRegions, upload } from '../fixtures/transfer';

/**
 * Issue 12, finding 1, what remained: the rows of an import are checked off the event loop that serves
 * HTTP and polling, and a zip bomb is refused while it is still being uploaded.
 */
describe('POST /cameras/import: row checks off the main thread, zip bombs refused during the upload', function () {
  this.timeout(300_000);
  const CAP = 64 * 1_048_576;
  let app: TestApp;
  let dir: string;
  const d = demo();

  before(async () => {
    app = await bootApp({ AUTH_MODE: 'open', IMPORT_LIMIT_BYTES: String(300 * 1_048_576), IMPORT_XLSX_MAX_UNZIPPED_BYTES: String(CAP) });
    await loadDemoRegions(app);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-offload-'));
  });
  after(async () => {
    await app?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('when a file is imported, then no row is mapped onto the input schema on the server\'s main thread (the import worker checks them), and the rows are written', async () => {
    const rows = demoRows(d, d.points.filter((p) => p.upstreamGbCode === null).slice(0, 300));
    const csv = gbk(csvText(demoColumns, rows));
    // every row's check goes through the one input schema (mapping.ts); count its uses on this thread
    const schema = cameraInputSchema as unknown as Record<'safeParse' | 'parse', (...a: unknown[]) => unknown>;
    const own = { safeParse: schema.safeParse, parse: schema.parse };
    let onMain = 0;
    schema.safeParse = (...a: unknown[]) => {
      onMain++;
      return own.safeParse.apply(cameraInputSchema, a);
    };
    schema.parse = (...a: unknown[]) => {
      onMain++;
      return own.parse.apply(cameraInputSchema, a);
    };
    let res;
    try {
      res = await upload(app, csv, { query: 'mode=valid-only' });
    } finally {
      delete (schema as Partial<typeof own>).safeParse;
      delete (schema as Partial<typeof own>).parse;
    }
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    expect(res.body.totals).to.include({ rows: rows.length, invalid: 0, created: rows.length });
    expect(await cameraCount(app)).to.equal(rows.length);
    expect(onMain, 'rows checked on the main thread').to.equal(0);
    // and the same rows again are unchanged: the worker compared them with the stored points it was sent
    const again = await upload(app, csv, { query: 'mode=dry-run' });
    expect(again.body.totals).to.include({ rows: rows.length, unchanged: rows.length, created: 0 });
  });

  it('when a zip bomb is being uploaded, then 413 naming IMPORT_XLSX_MAX_UNZIPPED_BYTES comes before the client has sent the whole file', async () => {
    const file = path.join(dir, 'bomb-slow.xlsx');
    const size = writeZipBomb(file, 50_000_000); // inflates to ~16 GiB, declares 1 KiB
    const boundary = 'vigil-bomb-boundary';
    const headPart = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="bomb.xlsx"\r\nContent-Type: application/octet-stream\r\n\r\n`);
    const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
    const url = new URL(`${app.baseUrl}/api/v1/cameras/import?mode=valid-only`);
    // the client sends the first 5 MB (already ~1.7 GiB inflated) and then waits, the rest unsent
    const sent = 5_000_000;
    const answer = await new Promise<{ status: number; body: { error: { code: string; message: string } } }>((resolve, reject) => {
      const req = http.request(
        { host: url.hostname, port: url.port, path: url.pathname + url.search, method: 'POST', headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': headPart.length + size + tail.length } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            req.destroy();
            resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as { error: { code: string; message: string } } });
          });
        },
      );
      req.on('error', reject);
      req.write(headPart);
      const fd = fs.openSync(file, 'r');
      const buf = Buffer.alloc(sent);
      fs.readSync(fd, buf, 0, sent, 0);
      fs.closeSync(fd);
      req.write(buf);
      // no end(): a server that waits for the whole upload never answers (the test then times out)
    });
    expect(answer.status).to.equal(413);
    expect(answer.body.error.code).to.equal('payload_too_large');
    expect(answer.body.error.message).to.equal(`the workbook unzips to more than ${CAP} bytes (IMPORT_XLSX_MAX_UNZIPPED_BYTES)`);
  });

  it('when a 200 MB zip bomb XLSX is uploaded whole, then 413 names the limit well within 30 s, nothing is written, and the next import runs', async () => {
    const file = path.join(dir, 'bomb.xlsx');
    writeZipBomb(file, 200_000_000); // inflates to ~64 GiB, declares 1 KiB
    const before = await cameraCount(app);
    const form = new FormData();
    form.append('file', await fs.openAsBlob(file), 'bomb.xlsx');
    const started = performance.now();
    const res = await fetch(`${app.baseUrl}/api/v1/cameras/import?mode=valid-only`, { method: 'POST', body: form });
    const body = (await res.json()) as { error: { code: string; message: string; details: Array<{ field: string }> } };
    const seconds = (performance.now() - started) / 1000;
    expect(res.status, JSON.stringify(body)).to.equal(413);
    expect(body.error.message).to.match(/IMPORT_XLSX_MAX_UNZIPPED_BYTES/);
    expect(body.error.details[0].field).to.equal('file');
    // generous on purpose (a shared machine); the benchmark records the real figure against its 5 s target
    expect(seconds).to.be.below(30);
    expect(await cameraCount(app)).to.equal(before);
    const ok = await upload(app, gbk(csvText(demoColumns, demoRows(d, d.points.slice(0, 3)))), { query: 'mode=dry-run' });
    expect(ok.status, JSON.stringify(ok.body)).to.equal(200);
  });
});
