import fs from 'node:fs';
import path from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import { expect } from 'chai';
import { bootAdmin, bootAuthApp, type TestApp } from '../helpers/app';
import { createUser, loginAs } from '../helpers/auth';
import { anonymous, type ApiClient, type ApiResponse } from '../helpers/http';
import { repoRoot } from '../helpers/process';

type Json = Record<string, unknown>;
interface Operation {
  parameters?: Json[];
  responses: Record<string, { description: string; headers?: Record<string, Json>; content?: Record<string, { schema: Json }> }>;
  'x-permission': string | null;
}
interface OpenApiDoc {
  info: { license?: { name: string; identifier?: string } };
  paths: Record<string, Record<string, Operation>>;
  components: Json & { schemas: Record<string, Json>; parameters: Record<string, Json> };
}

const DOC_ID = 'https://vigil.invalid/api/v1/openapi.json';

/** Every `$ref` of the document, with where it sits. */
function refsOf(value: unknown, at = '#'): Array<{ at: string; ref: string }> {
  if (Array.isArray(value)) return value.flatMap((v, i) => refsOf(v, `${at}/${i}`));
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([k, v]) => (k === '$ref' && typeof v === 'string' ? [{ at, ref: v }] : refsOf(v, `${at}/${k}`)));
}

function pointer(doc: unknown, ref: string): unknown {
  return ref
    .replace(/^#\//, '')
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce<unknown>((node, key) => (node && typeof node === 'object' ? (node as Json)[key] : undefined), doc);
}

describe('OpenAPI document: what it declares holds for live answers', function () {
  this.timeout(60_000);
  let app: TestApp;
  let doc: OpenApiDoc;
  let admin: ApiClient;
  let viewer: ApiClient;
  let districtId: string;
  const ajv = new Ajv2020({ strict: false, allErrors: true });

  before(async () => {
    app = await bootAuthApp();
    const res = await fetch(`${app.baseUrl}/api/v1/openapi.json`);
    expect(res.status).to.equal(200);
    doc = (await res.json()) as OpenApiDoc;
    ajv.addSchema({ $id: DOC_ID, components: doc.components });
    admin = await loginAs(app, bootAdmin);
    const d = await admin.post('/regions', { name: '文档区', tier: 'district', code: '219901' });
    expect(d.status).to.equal(201);
    districtId = (d.body as { id: string }).id;
    const v = await createUser(app, { role: 'viewer', scopeRegionId: districtId });
    viewer = await loginAs(app, v);
  });
  after(async () => {
    await app?.close();
  });

  /** Asserts the operation declares `res.status` and that the live body matches the schema it declares. */
  function conforms(method: string, template: string, res: ApiResponse): void {
    const op = doc.paths[template]?.[method];
    expect(op, `${method} ${template} is documented`).to.not.equal(undefined);
    const declared = op.responses[String(res.status)];
    expect(declared, `${method} ${template} declares ${res.status}`).to.not.equal(undefined);
    const schema = declared.content?.['application/json']?.schema;
    expect(schema, `${method} ${template} ${res.status} declares a JSON body`).to.deep.equal({ $ref: '#/components/schemas/Error' });
    const validate = ajv.compile({ $ref: `${DOC_ID}${String(schema?.$ref)}` });
    expect(validate(res.body), `${res.status} body ${JSON.stringify(res.body)}: ${ajv.errorsText(validate.errors)}`).to.equal(true);
    expect(res.headers.get('x-request-id'), 'X-Request-Id, declared on every response').to.be.a('string').and.not.equal('');
  }

  it('when the document is read, then it has no $defs and every $ref resolves inside it (the region tree is a component)', () => {
    expect(JSON.stringify(doc)).to.not.include('$defs');
    const refs = refsOf(doc);
    for (const { at, ref } of refs) {
      expect(ref, at).to.match(/^#\/components\//);
      expect(pointer(doc, ref), `${at} → ${ref}`).to.not.equal(undefined);
    }
    const tree = JSON.stringify(doc.paths['/regions/tree'].get.responses['200']);
    expect(tree).to.include('#/components/schemas/RegionTreeNode');
    expect(JSON.stringify(doc.components.schemas.RegionTreeNode)).to.include('#/components/schemas/RegionTreeNode');
  });

  it('when any operation is read, then it declares 500 and its 4xx with the one Error schema, and 401/403 when it needs a login', () => {
    for (const [p, ops] of Object.entries(doc.paths)) {
      for (const [m, op] of Object.entries(ops)) {
        const codes = Object.keys(op.responses);
        expect(codes, `${m} ${p}`).to.include('500');
        if (op['x-permission'] !== null) expect(codes, `${m} ${p}`).to.include.members(['401', '403']);
        for (const code of codes.filter((c) => Number(c) >= 400)) {
          expect(op.responses[code].content, `${m} ${p} ${code}`).to.deep.equal({ 'application/json': { schema: { $ref: '#/components/schemas/Error' } } });
        }
      }
    }
  });

  it('when conditional writes are read, then If-Match is a parameter, 409 is declared and the reads declare their ETag', () => {
    for (const [p, m] of [['/cameras/{id}', 'patch'], ['/cameras/{id}', 'delete'], ['/regions/{id}', 'patch'], ['/regions/{id}', 'delete']] as const) {
      const op = doc.paths[p][m];
      expect(op.parameters, `${m} ${p}`).to.deep.include({ $ref: '#/components/parameters/IfMatch' });
      expect(Object.keys(op.responses), `${m} ${p}`).to.include('409');
    }
    expect(doc.components.parameters.IfMatch).to.include({ name: 'If-Match', in: 'header' });
    for (const [p, m, s] of [['/cameras/{id}', 'get', '200'], ['/cameras', 'post', '201'], ['/cameras/{id}', 'patch', '200'], ['/regions/{id}', 'get', '200']] as const) {
      expect(doc.paths[p][m].responses[s].headers, `${m} ${p} ${s}`).to.have.property('ETag');
    }
  });

  it('when the export is read, then its 200 declares the CSV, XLSX and Catalog XML media types', () => {
    const ok = doc.paths['/cameras/export'].get.responses['200'];
    expect(Object.keys(ok.content ?? {})).to.have.members(['text/csv', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', 'application/xml']);
    expect(ok.headers).to.have.property('Content-Disposition');
  });

  it('when info is read, then it names the licence of package.json', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { license: string };
    expect(doc.info.license?.name).to.include(pkg.license);
  });

  it('when a JSON body is malformed, then the 400 matches the declared Error schema', async () => {
    const res = await admin.request('POST', '/regions', '{"name": ', { headers: { 'content-type': 'application/json' } });
    expect(res.status).to.equal(400);
    conforms('post', '/regions', res);
  });

  it('when nobody is logged in, then the 401 matches the declared Error schema', async () => {
    const res = await anonymous(app).get('/cameras');
    expect(res.status).to.equal(401);
    conforms('get', '/cameras', res);
  });

  it('when a viewer writes, then the 403 matches the declared Error schema', async () => {
    const res = await viewer.post('/regions', { name: '街道', tier: 'street', parentId: districtId });
    expect(res.status).to.equal(403);
    conforms('post', '/regions', res);
  });

  it('when a region does not exist, then the 404 matches the declared Error schema', async () => {
    const res = await admin.get('/regions/0123456789abcdef01234567');
    expect(res.status).to.equal(404);
    conforms('get', '/regions/{id}', res);
  });

  it('when a code is taken or If-Match is stale, then each 409 matches the declared Error schema', async () => {
    const dup = await admin.post('/regions', { name: '另一区', tier: 'district', code: '219901' });
    expect(dup.status).to.equal(409);
    conforms('post', '/regions', dup);
    const stale = await admin.request('PATCH', `/regions/${districtId}`, { note: 'x' }, { headers: { 'If-Match': '"v999"' } });
    expect(stale.status).to.equal(409);
    conforms('patch', '/regions/{id}', stale);
  });

  it('when a field is invalid, then the 422 matches the declared Error schema and names the field', async () => {
    const res = await admin.post('/regions', { name: '区', tier: 'province' });
    expect(res.status).to.equal(422);
    conforms('post', '/regions', res);
    expect(JSON.stringify((res.body as { error: { details: unknown } }).error.details)).to.include('tier');
  });
});
