import { z } from 'zod';
import { cameraListQuerySchema } from '../schema';
import { encodingParam } from './decode';
import { transferFields } from './fields';
import { importModes } from './model';

export const importFormats = ['csv', 'xlsx', 'gb28181'] as const;

/** POST /cameras/import query. */
export const importQuerySchema = z.strictObject({
  mode: z.enum(importModes, { message: `mode must be one of ${importModes.join(', ')}` }).default('dry-run'),
  /** Normally detected from the file's first bytes and name. */
  format: z.enum(importFormats).optional(),
  /** Text files only; normally detected (BOM → UTF-8; valid UTF-8 → UTF-8; else GB18030). */
  encoding: z.enum(encodingParam).optional(),
});
export type ImportQuery = z.infer<typeof importQuerySchema>;

/** The multipart body, for the OpenAPI document only (the route reads it as a stream). */
export const importBodyDoc = z
  .object({ file: z.string().meta({ format: 'binary', description: 'CSV (UTF-8 or GBK/GB18030), XLSX, or GB/T 28181 Catalog XML' }) })
  .optional();

export const rowIssueSchema = z.object({
  /** 1-based line of the file (CSV, XML) or sheet row (XLSX). */
  line: z.number().int(),
  /** Column key (see the header table in the README); 'row' for problems of the whole row. */
  field: z.enum([...transferFields, 'row']),
  /** The header text the file used for that column. */
  column: z.string(),
  reason: z.string(),
});

export const importReportSchema = z.object({
  jobId: z.string().nullable(),
  mode: z.enum(importModes),
  format: z.enum(importFormats),
  encoding: z.enum(['utf-8', 'gb18030']),
  /** Whether anything was written (false for dry-run and for a refused all-or-nothing import). */
  applied: z.boolean(),
  totals: z.object({
    rows: z.number().int(),
    valid: z.number().int(),
    invalid: z.number().int(),
    created: z.number().int(),
    updated: z.number().int(),
    unchanged: z.number().int(),
    /** Catalog items that are not points (platforms, business groups, virtual organisations). */
    skipped: z.number().int(),
  }),
  errors: z.array(rowIssueSchema),
  /** More problems exist than the report lists (the first ones are kept, ordered by line). */
  errorsTruncated: z.boolean(),
  ignoredColumns: z.array(z.string()),
});
export type ImportReport = z.infer<typeof importReportSchema>;

/** GET /cameras/export query: the list endpoint's filters, plus format and header language. */
export const exportQuerySchema = cameraListQuerySchema
  .omit({ sort: true, limit: true, cursor: true, count: true })
  .extend({
    format: z.enum(importFormats).default('csv'),
    lang: z.enum(['zh', 'en']).default('zh'),
  });
export type ExportQuery = z.infer<typeof exportQuerySchema>;
