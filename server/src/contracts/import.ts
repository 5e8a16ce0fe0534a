import { z } from 'zod';

/**
 * Import and export of camera points (`POST /cameras/import`, `GET /cameras/export`) as the API speaks them.
 * Browser-safe: the console imports the report type and the lists of modes and formats.
 */

/** dry-run writes nothing; all-or-nothing writes only when every row is valid; valid-only writes the valid rows. */
export const importModes = ['dry-run', 'all-or-nothing', 'valid-only'] as const;
export type ImportMode = (typeof importModes)[number];

export const importFormats = ['csv', 'xlsx', 'gb28181'] as const;
export type ImportFormat = (typeof importFormats)[number];

/**
 * The flat column keys shared by every import and export format; their headers (zh / en) and the aliases
 * accepted on import are documented in cameras/transfer/fields.ts.
 */
export const transferFields = [
  'gbCode',
  'name',
  'district',
  'street',
  'community',
  'regionId',
  'regionCode',
  'grid',
  'address',
  'lon',
  'lat',
  'host',
  'rtspPort',
  'rtspPath',
  'httpPort',
  'onvifPort',
  'probeKind',
  'probeIntervalSec',
  'probeTimeoutMs',
  'probeRetries',
  'vendor',
  'model',
  'ownerUnit',
  'maintainerOrg',
  'maintainerContact',
  'maintainerPhone',
  'sharing',
  'upstream',
  'tags',
  'enabled',
  'installedAt',
  'note',
] as const;
export type TransferField = (typeof transferFields)[number];

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

/**
 * An import run (`POST /cameras/import?async=true` → 202 with it; `GET /cameras/import/jobs/{id}`). The file
 * is uploaded to a temporary file, read and checked in a worker thread batch by batch (phase `read`),
 * rows whose upstream device is another row of the file are ordered (`stage`), then the staged rows are
 * written (`apply`). One run at a time per registry: a second POST gets 409 with the running job's id.
 */
export const importPhases = ['upload', 'read', 'stage', 'apply', 'finish'] as const;
export type ImportPhase = (typeof importPhases)[number];
export const importJobStates = ['running', 'done', 'failed'] as const;
export type ImportJobRunState = (typeof importJobStates)[number];

export const importJobSchema = z.object({
  id: z.string(),
  state: z.enum(importJobStates),
  /** Where a running job is; a finished one keeps the last phase it reached. */
  phase: z.enum(importPhases),
  mode: z.enum(importModes),
  filename: z.string(),
  startedAt: z.string(),
  finishedAt: z.string().nullable(),
  progress: z.object({
    /** Bytes of the file uploaded (upload) or read (read). */
    bytesDone: z.number().int(),
    /** The file's size once uploaded; null while uploading without a known length. */
    bytesTotal: z.number().int().nullable(),
    /** Rows read and checked so far. */
    rowsDone: z.number().int(),
    /** Rows of the file, known once it is read to the end. */
    rowsTotal: z.number().int().nullable(),
    /** Rows to write (created or updated) and written so far. */
    rowsToApply: z.number().int(),
    rowsApplied: z.number().int(),
  }),
  /** The report once done (as the synchronous answer gives it). */
  report: importReportSchema.nullable(),
  /** Why it failed: the error the synchronous answer would have given (422 all-or-nothing: report in details). */
  error: z.object({ status: z.number().int(), code: z.string(), message: z.string(), details: z.unknown().optional() }).nullable(),
});
export type ImportJob = z.infer<typeof importJobSchema>;

/** Header language of an export. */
export const exportLangs = ['zh', 'en'] as const;
export type ExportLang = (typeof exportLangs)[number];
