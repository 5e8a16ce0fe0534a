import { Schema, type Connection, type Model, type Types } from 'mongoose';
import type { CameraInput } from '../schema';

export const importModes = ['dry-run', 'all-or-nothing', 'valid-only'] as const;
export type ImportMode = (typeof importModes)[number];

/**
 * Life of an import job (collection `import_jobs`). The store has no transactions (a standalone), so an
 * import that writes is made crash-safe by staging and rolling forward:
 *
 * | state     | meaning                                                   | at start-up                    |
 * |-----------|-----------------------------------------------------------|--------------------------------|
 * | staging   | validated rows are being written to `import_rows`         | aborted: rows dropped, registry untouched |
 * | committed | every row is staged; the job will be applied              | applied again (roll forward)   |
 * | done      | every staged row was upserted; staged rows deleted         | nothing                        |
 * | aborted   | given up before commit                                    | nothing                        |
 *
 * The switch staging → committed is one single-document write: the commit point. Applying is an
 * idempotent upsert by gbCode, so applying a committed job again after a crash converges to the same
 * registry. The registry therefore never keeps a partial all-or-nothing import: either the job never
 * committed (nothing was written) or it is completed on the next start, before requests are served.
 */
export const importJobStates = ['staging', 'committed', 'done', 'aborted'] as const;
export type ImportJobState = (typeof importJobStates)[number];

export interface ImportTotals {
  rows: number;
  valid: number;
  invalid: number;
  created: number;
  updated: number;
  unchanged: number;
  skipped: number;
}

export interface ImportJobDoc {
  _id: Types.ObjectId;
  state: ImportJobState;
  mode: ImportMode;
  format: string;
  filename: string;
  actor: { userId: string; username: string };
  /** Planned outcome at staging time; the applied figures are written when done. */
  totals: ImportTotals;
  staged: number;
  levels: number;
  /** Regions the import writes to (scoped audit visibility). */
  regionIds: string[];
  createdAt: Date;
  committedAt: Date | null;
  finishedAt: Date | null;
  /** How often the job was applied at start-up after an interrupted run. */
  recoveries: number;
}

export interface ImportRowDoc {
  _id: Types.ObjectId;
  jobId: Types.ObjectId;
  seq: number;
  /** 0 = no dependency; n = the upstream device is created by a row of level n-1 of this job. */
  level: number;
  line: number;
  input: CameraInput;
  /** Upstream device still to resolve by code at apply time (level > 0); null = input is final. */
  upstreamGbCode: string | null;
}

const totalsSchema = {
  rows: Number,
  valid: Number,
  invalid: Number,
  created: Number,
  updated: Number,
  unchanged: Number,
  skipped: Number,
};

const jobSchema = new Schema<ImportJobDoc>(
  {
    state: { type: String, enum: importJobStates, required: true },
    mode: { type: String, enum: importModes, required: true },
    format: String,
    filename: String,
    actor: { userId: String, username: String },
    totals: totalsSchema,
    staged: Number,
    levels: Number,
    regionIds: [String],
    createdAt: Date,
    committedAt: Date,
    finishedAt: Date,
    recoveries: Number,
  },
  { collection: 'import_jobs', versionKey: false },
);
jobSchema.index({ state: 1 });

const rowSchema = new Schema<ImportRowDoc>(
  {
    jobId: { type: Schema.Types.ObjectId, required: true },
    seq: Number,
    level: Number,
    line: Number,
    input: Schema.Types.Mixed,
    upstreamGbCode: String,
  },
  { collection: 'import_rows', versionKey: false },
);
rowSchema.index({ jobId: 1, level: 1, seq: 1 });

export function importJobModel(conn: Connection): Model<ImportJobDoc> {
  return (conn.models.ImportJob as Model<ImportJobDoc> | undefined) ?? conn.model<ImportJobDoc>('ImportJob', jobSchema);
}

export function importRowModel(conn: Connection): Model<ImportRowDoc> {
  return (conn.models.ImportRow as Model<ImportRowDoc> | undefined) ?? conn.model<ImportRowDoc>('ImportRow', rowSchema);
}
