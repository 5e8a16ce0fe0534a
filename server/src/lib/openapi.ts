import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { Permission } from '../contracts/access';
import { errorBodySchema } from '../contracts/errors';

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** Response headers the API sets; each is described once in `components.headers`. */
export type ResponseHeader = 'ETag' | 'Location' | 'Retry-After' | 'Content-Disposition' | 'X-Request-Id';

export interface ResponseSpec {
  description: string;
  /** JSON body (or the body of `contentType`). Error statuses always carry the error schema: leave it out. */
  schema?: z.ZodType;
  /** Content type(s) of a non-JSON body (a download): each is declared as a string body of that media type. */
  contentType?: string | readonly string[];
  headers?: readonly ResponseHeader[];
}

export interface OperationSpec {
  method: HttpMethod;
  /** Express-style path under /api/v1, e.g. `/cameras/:id`. */
  path: string;
  summary: string;
  tags: string[];
  /** null = public (no authentication). */
  permission: Permission | null;
  params?: z.ZodType;
  query?: z.ZodType;
  body?: z.ZodType;
  /** Content type of the request body when not JSON (e.g. multipart/form-data). */
  bodyContentType?: string;
  /** The route reads `If-Match` (an ETag from this API; a stale one gets 409 and nothing is written). */
  ifMatch?: boolean;
  /**
   * 2xx answers, and error statuses the route answers beyond those every operation of its shape can give
   * (see `errorResponses`) or with a more telling description.
   */
  responses: Record<number, ResponseSpec>;
}

/** `info` of the document served at /api/v1/openapi.json (the licence is package.json's). */
export const apiDocumentInfo = {
  title: 'Vigil API',
  version: '1',
  description:
    'Video-surveillance point registry and health monitor. Every error answers `{ error: { code, message, details? } }` ' +
    '(the `Error` schema) with the status of its code; every response carries `X-Request-Id`.',
  license: { name: 'UNLICENSED (proprietary; all rights reserved)', identifier: 'LicenseRef-UNLICENSED' },
} as const;

export interface DocumentInfo {
  title: string;
  version: string;
  description?: string;
  license?: { name: string; identifier?: string; url?: string };
  serverUrl?: string;
}

const ERROR_REF = { $ref: '#/components/schemas/Error' };

const headerComponents: Record<ResponseHeader, { description: string; schema: Record<string, unknown> }> = {
  ETag: { description: 'Version of the resource, e.g. `"v3"`; send it back in `If-Match` to change it only if nobody else did', schema: { type: 'string' } },
  Location: { description: 'URL of the created resource', schema: { type: 'string' } },
  'Retry-After': { description: 'Seconds to wait before trying again', schema: { type: 'integer', minimum: 0 } },
  'Content-Disposition': { description: 'attachment; filename="…" (the file name to save as)', schema: { type: 'string' } },
  'X-Request-Id': { description: 'Id of this request in the server log: the caller\'s own `X-Request-Id` when it is sane, else generated', schema: { type: 'string' } },
};

/**
 * Error statuses every operation of a shape can answer (the middleware and defineRoute see to it), with
 * what causes them. Routes add the ones only their service knows (404 of a query's region, 409 of a
 * duplicate, 429, 503…) in `responses`.
 */
export function errorResponses(op: OperationSpec): Map<number, string> {
  const out = new Map<number, string>();
  const jsonBody = op.body !== undefined && op.bodyContentType === undefined;
  if (op.params || op.query || op.body || op.ifMatch) {
    const causes = [op.params && 'path', op.query && 'query', jsonBody && 'malformed JSON or operator keys ($…, dotted) in the body', op.body && !jsonBody && `malformed ${op.bodyContentType} body`, op.ifMatch && 'If-Match that is no ETag of this API'];
    out.set(400, `bad request: ${causes.filter(Boolean).join(', ')}`);
  }
  if (op.permission !== null) {
    out.set(401, 'not authenticated (no valid session cookie or bearer token)');
    out.set(403, `the caller may not ${op.permission}${op.method === 'get' ? '' : ', or CSRF token missing / cross-site request'}`);
  } else if (op.method !== 'get') {
    out.set(403, 'cross-site request refused');
  }
  if (op.params) out.set(404, 'not found (or outside the caller\'s scope)');
  if (op.ifMatch) out.set(409, 'stale version: If-Match (or body.version) is not the current ETag; nothing was written');
  if (op.body) {
    out.set(413, 'request body too large');
    out.set(415, `Content-Type must be ${op.bodyContentType ?? 'application/json'}`);
  }
  if (jsonBody) out.set(422, 'invalid fields (details name each one)');
  out.set(500, 'internal error (no detail is sent: the server log has it under the response\'s X-Request-Id)');
  return out;
}

/** Collects every operation so /api/v1/openapi.json is generated from the same zod schemas that validate. */
export class OpenApiRegistry {
  readonly operations: OperationSpec[] = [];

  add(op: OperationSpec): void {
    this.operations.push(op);
  }

  document(info: DocumentInfo = apiDocumentInfo): Record<string, unknown> {
    const { serverUrl, ...docInfo } = info;
    const schemas = new ComponentSchemas();
    schemas.put('Error', toSchema(errorBodySchema, 'output'));
    const paths: Record<string, Record<string, unknown>> = {};
    for (const op of this.operations) {
      const oaPath = op.path.replace(/:([A-Za-z_]+)/g, '{$1}');
      const parameters: unknown[] = [];
      for (const [where, schema] of [['path', op.params], ['query', op.query]] as const) {
        if (!schema) continue;
        const js = schemas.adopt(toSchema(schema)) as { properties?: Record<string, Record<string, unknown>>; required?: string[] };
        for (const [name, s] of Object.entries(js.properties ?? {})) {
          const { description, ...rest } = s;
          parameters.push({
            name,
            in: where,
            required: where === 'path' || (js.required ?? []).includes(name),
            ...(typeof description === 'string' ? { description } : {}),
            schema: rest,
          });
        }
      }
      if (op.ifMatch) parameters.push({ $ref: '#/components/parameters/IfMatch' });

      const responses: Record<string, unknown> = {};
      const errors = errorResponses(op);
      const statuses = [...new Set([...Object.keys(op.responses).map(Number), ...errors.keys()])].sort((a, b) => a - b);
      for (const status of statuses) {
        const r: ResponseSpec | undefined = op.responses[status];
        const headers: Record<string, unknown> = { 'X-Request-Id': { $ref: '#/components/headers/X-Request-Id' } };
        for (const h of r?.headers ?? []) headers[h] = { $ref: `#/components/headers/${h}` };
        if (status === 429) headers['Retry-After'] = { $ref: '#/components/headers/Retry-After' };
        let content: Record<string, unknown> | undefined;
        if (status >= 400) content = { 'application/json': { schema: ERROR_REF } };
        else if (r?.schema) content = { [mediaType(r.contentType) ?? 'application/json']: { schema: schemas.adopt(toSchema(r.schema, 'output')) } };
        else if (r?.contentType) {
          content = {};
          for (const ct of typeof r.contentType === 'string' ? [r.contentType] : r.contentType) {
            const type = ct.split(';')[0].trim();
            content[type] = { schema: { type: 'string', contentMediaType: type } };
          }
        }
        responses[String(status)] = {
          description: r?.description ?? errors.get(status) ?? 'error',
          headers,
          ...(content ? { content } : {}),
        };
      }
      (paths[oaPath] ??= {})[op.method] = {
        operationId: `${op.method}${op.path.replace(/[/:{}-](\w)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : ''))}`,
        summary: op.summary,
        tags: op.tags,
        'x-permission': op.permission,
        ...(op.permission ? { security: [{ cookieAuth: [] }, { bearerAuth: [] }] } : { security: [] }),
        ...(parameters.length ? { parameters } : {}),
        ...(op.body
          ? { requestBody: { required: true, content: { [op.bodyContentType ?? 'application/json']: { schema: schemas.adopt(toSchema(op.body)) } } } }
          : {}),
        responses,
      };
    }
    const tags = [...new Set(this.operations.flatMap((o) => o.tags))].sort().map((name) => ({ name, description: `${name} operations` }));
    return {
      openapi: '3.1.0',
      info: docInfo,
      servers: [{ url: serverUrl ?? '/api/v1' }],
      tags,
      components: {
        schemas: schemas.all(),
        parameters: {
          IfMatch: {
            name: 'If-Match',
            in: 'header',
            required: false,
            description: 'The ETag of the version you read (e.g. `"v3"`); when it is no longer current the server answers 409 and writes nothing',
            schema: { type: 'string' },
          },
        },
        headers: headerComponents,
        securitySchemes: {
          cookieAuth: { type: 'apiKey', in: 'cookie', name: 'vigil_session', description: 'console session (writes also need X-CSRF-Token)' },
          bearerAuth: { type: 'http', scheme: 'bearer', description: 'API token' },
        },
      },
      paths,
    };
  }
}

function mediaType(ct: ResponseSpec['contentType']): string | undefined {
  const first = typeof ct === 'string' ? ct : ct?.[0];
  return first?.split(';')[0].trim();
}

type JsonSchema = Record<string, unknown>;

function toSchema(schema: z.ZodType, io: 'input' | 'output' = 'input'): JsonSchema {
  const js = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as JsonSchema;
  delete js.$schema;
  return tidy(js) as JsonSchema;
}

/** `anyOf` with an empty (any-value) branch accepts anything: the branch list says nothing, so it goes. */
function tidy(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(tidy);
  if (value === null || typeof value !== 'object') return value;
  const out: JsonSchema = {};
  for (const [k, v] of Object.entries(value)) out[k] = tidy(v);
  const branches: unknown = out.anyOf;
  if (Array.isArray(branches) && branches.some((b: unknown) => b !== null && typeof b === 'object' && Object.keys(b).length === 0)) delete out.anyOf;
  return out;
}

/**
 * `components.schemas`: zod puts a recursive schema (or one with a registered id, `.meta({ id })`) in the
 * fragment's own `$defs`, which an OpenAPI document cannot resolve. Each is moved here under its id
 * (an unnamed one under a name from its content) and references are rewritten to point here.
 */
class ComponentSchemas {
  private readonly byName = new Map<string, JsonSchema>();

  put(name: string, schema: JsonSchema): void {
    this.byName.set(name, schema);
  }

  adopt(fragment: JsonSchema): JsonSchema {
    const defs = fragment.$defs as Record<string, JsonSchema> | undefined;
    if (!defs) return fragment;
    const { $defs: _defs, ...rest } = fragment;
    const rename = new Map(Object.entries(defs).map(([key, def]) => [key, componentName(key, def)]));
    for (const [key, def] of Object.entries(defs)) {
      const base = rename.get(key) as string;
      // the same id read as input and as output may differ (defaults): the second gets its own entry
      for (let n = 2; ; n++) {
        const existing = this.byName.get(rename.get(key) as string);
        if (!existing || JSON.stringify(existing) === JSON.stringify(relink(def, rename))) break;
        rename.set(key, `${base}${n}`);
      }
    }
    for (const [key, def] of Object.entries(defs)) this.byName.set(rename.get(key) as string, relink(def, rename) as JsonSchema);
    return relink(rest, rename) as JsonSchema;
  }

  all(): Record<string, JsonSchema> {
    return Object.fromEntries([...this.byName].sort(([a], [b]) => a.localeCompare(b)));
  }
}

/** A registered id is the name; zod's own `__schemaN` keys are per fragment, so those are named by content. */
function componentName(key: string, def: JsonSchema): string {
  return key.startsWith('__schema') ? `Schema${createHash('sha1').update(JSON.stringify(def)).digest('hex').slice(0, 8)}` : key;
}

/** Rewrites `#/$defs/<key>` references to `#/components/schemas/<new name>`. */
function relink(value: unknown, rename: Map<string, string>): unknown {
  if (Array.isArray(value)) return value.map((v) => relink(v, rename));
  if (value === null || typeof value !== 'object') return value;
  const out: JsonSchema = {};
  for (const [k, v] of Object.entries(value)) {
    if (k === '$ref' && typeof v === 'string' && v.startsWith('#/$defs/')) {
      const key = v.slice('#/$defs/'.length);
      out[k] = `#/components/schemas/${rename.get(key) ?? key}`;
    } else out[k] = relink(v, rename);
  }
  return out;
}
