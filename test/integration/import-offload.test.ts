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

  it('when a zip bomb is being uploaded, then the server drops it as soon as the bytes so far pass the cap (its temporary file is gone while the client still sends), and answers 413 naming IMPORT_XLSX_MAX_UNZIPPED_BYTES', async () => {
    const file = path.join(dir, 'bomb-slow.xlsx');
    const size = writeZipBomb(file, 50_000_000); // inflates to ~16 GiB, declares 1 KiB
    const bomb = fs.readFileSync(file);
    const boundary = 'vigil-bomb-boundary';
    const headPart = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="bomb.xlsx"\r\nContent-Type: application/octet-stream\r\n\r\n`);
    const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
    const url = new URL(`${app.baseUrl}/api/v1/cameras/import?mode=valid-only`);
    // the upload's temporary file goes to os.tmpdir(): a directory of this test's own
    const tmp = fs.mkdtempSync(path.join(dir, 'tmp-'));
    const savedTmp = process.env.TMPDIR;
    process.env.TMPDIR = tmp;
    let created = 0;
    const watcher = fs.watch(tmp, () => created++);
    const uploads = (): string[] => fs.readdirSync(tmp).filter((n) => n.startsWith('vigil-import-'));
    try {
      let req: http.ClientRequest | undefined;
      const answer = new Promise<{ status: number; body: { error: { code: string; message: string } } }>((resolve, reject) => {
        req = http.request(
          { host: url.hostname, port: url.port, path: url.pathname + url.search, method: 'POST', headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': headPart.length + size + tail.length } },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as { error: { code: string; message: string } } }));
          },
        );
        req.on('error', reject);
      });
      const client = req as http.ClientRequest;
      // the first 5 MB (already ~1.7 GiB inflated), then the client waits with the rest unsent
      client.write(headPart);
      client.write(bomb.subarray(0, 5_000_000));
      const deadline = Date.now() + 120_000;
      while ((created === 0 || uploads().length > 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(created, 'the upload reached the server').to.be.above(0);
      expect(uploads(), 'temporary upload files while the client has sent 5 of 50 MB').to.deep.equal([]);
      client.end(Buffer.concat([bomb.subarray(5_000_000), tail]));
      const res = await answer;
      expect(res.status).to.equal(413);
      expect(res.body.error.code).to.equal('payload_too_large');
      expect(res.body.error.message).to.equal(`the workbook unzips to more than ${CAP} bytes (IMPORT_XLSX_MAX_UNZIPPED_BYTES)`);
    } finally {
      watcher.close();
      if (savedTmp === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = savedTmp;
    }
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
