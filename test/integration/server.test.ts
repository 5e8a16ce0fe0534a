import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { bootApp, type TestApp } from '../helpers/app';
import { runTs } from '../helpers/process';

describe('server: health, errors, OpenAPI', () => {
  let app: TestApp;
  before(async () => {
    app = await bootApp();
  });
  after(async () => {
    await app.close();
  });

  it('when /healthz is asked, then it answers 200 ok', async () => {
    const res = await fetch(`${app.baseUrl}/healthz`);
    expect(res.status).to.equal(200);
    expect(await res.json()).to.deep.equal({ status: 'ok' });
  });

  it('when the store is reachable, then /readyz answers 200 with the store check true', async () => {
    const res = await fetch(`${app.baseUrl}/readyz`);
    const body = (await res.json()) as { status: string; checks: Record<string, boolean> };
    expect(res.status).to.equal(200);
    expect(body.checks.store).to.equal(true);
  });

  it('when an unknown API route is asked, then a JSON 404 error names it', async () => {
    const res = await fetch(`${app.baseUrl}/api/v1/no-such-thing`);
    expect(res.status).to.equal(404);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).to.equal('not_found');
    expect(body.error.message).to.contain('/no-such-thing');
  });

  it('when the OpenAPI document is asked, then it is OpenAPI 3.1 with paths', async () => {
    const res = await fetch(`${app.baseUrl}/api/v1/openapi.json`);
    expect(res.status).to.equal(200);
    const doc = (await res.json()) as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).to.equal('3.1.0');
    expect(doc.paths).to.be.an('object');
  });

  it('when /api/docs is asked, then the interactive docs page loads its assets locally', async () => {
    const page = await fetch(`${app.baseUrl}/api/docs`);
    expect(page.status).to.equal(200);
    expect(await page.text()).to.contain('/api/docs/assets/swagger-ui-bundle.js');
    const asset = await fetch(`${app.baseUrl}/api/docs/assets/swagger-ui-bundle.js`);
    expect(asset.status).to.equal(200);
  });
});

describe('server: security headers', () => {
  it('when MAP_TILE_URL names an intranet tile server, then the CSP allows its origin for images and nothing else changes', async () => {
    const app = await bootApp({ MAP_TILE_URL: 'http://tiles.video.local:8080/{z}/{x}/{y}.png' });
    try {
      const res = await fetch(`${app.baseUrl}/healthz`);
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp).to.match(/img-src[^;]*http:\/\/tiles\.video\.local:8080/);
      expect(csp).to.match(/script-src 'self'(;|$)/);
    } finally {
      await app.close();
    }
  });
});

describe('server process: start, second instance, SIGTERM, bad config', function () {
  this.timeout(60_000);
  let dataDir: string;
  before(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-proc-'));
  });
  after(() => {
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('when started on the embedded store, then it prints the console URL, a second start on the same DATA_DIR is refused, and SIGTERM exits 0', async () => {
    const first = runTs('server/src/main.ts', [], { DATA_DIR: dataDir, PORT: '0', AUTH_MODE: 'open' });
    try {
      const [, url] = await first.waitFor(/Console: (http:\/\/\S+)/);
      const ready = await fetch(new URL('/readyz', url));
      expect(ready.status).to.equal(200);

      const second = runTs('server/src/main.ts', [], { DATA_DIR: dataDir, PORT: '0', AUTH_MODE: 'open' });
      const { code } = await second.exited;
      expect(code).to.not.equal(0);
      expect(second.output()).to.match(/in use/i);
      expect(second.output()).to.contain(path.join(dataDir, 'db'));
    } finally {
      first.child.kill('SIGTERM');
    }
    const { code } = await first.exited;
    expect(code).to.equal(0);
  });

  it('when a region is created, the server stopped with SIGTERM and started again on the same DATA_DIR, then the region is still there', async () => {
    const env = { DATA_DIR: dataDir, PORT: '0', AUTH_MODE: 'open' };
    const first = runTs('server/src/main.ts', [], env);
    let id: string;
    try {
      const [, url] = await first.waitFor(/Console: (http:\/\/\S+)/);
      const res = await fetch(new URL('/api/v1/regions', url), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: '持久区', tier: 'district', code: '210399' }),
      });
      expect(res.status).to.equal(201);
      id = ((await res.json()) as { id: string }).id;
    } finally {
      first.child.kill('SIGTERM');
    }
    expect((await first.exited).code).to.equal(0);

    const second = runTs('server/src/main.ts', [], env);
    try {
      const [, url] = await second.waitFor(/Console: (http:\/\/\S+)/);
      const res = await fetch(new URL(`/api/v1/regions/${id}`, url));
      expect(res.status).to.equal(200);
      expect(((await res.json()) as { name: string }).name).to.equal('持久区');
    } finally {
      second.child.kill('SIGTERM');
    }
    expect((await second.exited).code).to.equal(0);
  });

  it('when a configuration value is bad, then start-up stops with exit code 2 naming the variable', async () => {
    const p = runTs('server/src/main.ts', [], { DATA_DIR: dataDir, PORT: 'not-a-port' });
    const { code } = await p.exited;
    expect(code).to.equal(2);
    expect(p.output()).to.contain('PORT');
  });
});
