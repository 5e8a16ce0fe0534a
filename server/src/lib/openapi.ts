import { z } from 'zod';
import type { Permission } from '../contracts/access';

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

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
  responses: Record<number, { description: string; schema?: z.ZodType; contentType?: string }>;
}

/** Collects every operation so /api/v1/openapi.json is generated from the same zod schemas that validate. */
export class OpenApiRegistry {
  readonly operations: OperationSpec[] = [];

  add(op: OperationSpec): void {
    this.operations.push(op);
  }

  document(info: { title: string; version: string; serverUrl?: string }): Record<string, unknown> {
    const paths: Record<string, Record<string, unknown>> = {};
    const errorSchema = toSchema(
      z.object({ error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }) }),
    );
    for (const op of this.operations) {
      const oaPath = op.path.replace(/:([A-Za-z_]+)/g, '{$1}');
      const parameters: unknown[] = [];
      for (const [where, schema] of [['path', op.params], ['query', op.query]] as const) {
        if (!schema) continue;
        const js = toSchema(schema) as { properties?: Record<string, unknown>; required?: string[] };
        for (const [name, s] of Object.entries(js.properties ?? {})) {
          parameters.push({ name, in: where, required: where === 'path' || (js.required ?? []).includes(name), schema: s });
        }
      }
      const responses: Record<string, unknown> = {};
      for (const [status, r] of Object.entries(op.responses)) {
        responses[status] = {
          description: r.description,
          ...(r.schema ? { content: { [r.contentType ?? 'application/json']: { schema: toSchema(r.schema, 'output') } } } : {}),
        };
      }
      responses.default = { description: 'error', content: { 'application/json': { schema: errorSchema } } };
      (paths[oaPath] ??= {})[op.method] = {
        operationId: `${op.method}${op.path.replace(/[/:{}-](\w)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : ''))}`,
        summary: op.summary,
        tags: op.tags,
        'x-permission': op.permission,
        ...(op.permission ? { security: [{ cookieAuth: [] }, { bearerAuth: [] }] } : { security: [] }),
        ...(parameters.length ? { parameters } : {}),
        ...(op.body
          ? { requestBody: { required: true, content: { [op.bodyContentType ?? 'application/json']: { schema: toSchema(op.body) } } } }
          : {}),
        responses,
      };
    }
    return {
      openapi: '3.1.0',
      info,
      servers: [{ url: info.serverUrl ?? '/api/v1' }],
      components: {
        securitySchemes: {
          cookieAuth: { type: 'apiKey', in: 'cookie', name: 'vigil_session' },
          bearerAuth: { type: 'http', scheme: 'bearer' },
        },
      },
      paths,
    };
  }
}

function toSchema(schema: z.ZodType, io: 'input' | 'output' = 'input'): Record<string, unknown> {
  return z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' });
}
