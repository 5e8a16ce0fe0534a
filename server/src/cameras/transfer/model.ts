import { Schema, type Connection, type Model, type Types } from 'mongoose';
import type { CameraInput } from '../schema';
import { importModes, type ImportMode } from '../../contracts/import';

// transfer/service.ts reads ImportMode here (the modes are listed in contracts/import.ts)
export type { ImportMode };

/**
 * Life of an import job (collection `import_jobs`). The store has no transactions (a standalone), so an
 * import that writes is made crash-safe by staging and rolling forward:
 *
 * | state     | meaning                                                   | at start-up                    |
 * |-----------|-----------------------------------------------------------|--------------------------------|
 * | staging   | the file is being read; its valid rows are written to `import_rows` as they come (level -1: rows waiting for an upstream row of the file, staged again by level before the commit) | aborted: rows dropped, registry untouched |
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

/**
 * Staged rows (collection `import_rows`), up to 1,000 per document: one insert per batch instead of one
 * per row keeps staging a small fraction of the import time. A chunk holds rows of one level only.
 */
export interface ImportChunkDoc {
  _id: Types.ObjectId;
  jobId: Types.ObjectId;
  seq: number;
  /** 0 = no dependency; n = the rows' upstream devices are created by chunks of level n-1 of this job. */
  level: number;
  /**
   * `StagedRow[]` as JSON text: the rows are never queried, and one string is several times cheaper for
   * the store to write and read than 1,000 nested documents.
   */
  rowsJson: string;
}

export interface StagedRow {
  line: number;
  input: CameraInput;
  /** Upstream device still to resolve by code at apply time (level > 0); null = input is final. */
  upstreamGbCode: string | null;
  /** Planned outcome: creates are not audited per point (the import entry counts them). */
  outcome: 'created' | 'updated';
  /** Updates: the version of the point the plan read; the apply writes only over that version. */
  version?: number;
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

const chunkSchema = new Schema<ImportChunkDoc>(
  {
    jobId: { type: Schema.Types.ObjectId, required: true },
    seq: Number,
    level: Number,
    rowsJson: String,
  },
  { collection: 'import_rows', versionKey: false },
);
chunkSchema.index({ jobId: 1, seq: 1 });

export function importJobModel(conn: Connection): Model<ImportJobDoc> {
  return (conn.models.ImportJob as Model<ImportJobDoc> | undefined) ?? conn.model<ImportJobDoc>('ImportJob', jobSchema);
}

export function importChunkModel(conn: Connection): Model<ImportChunkDoc> {
  return (conn.models.ImportChunk as Model<ImportChunkDoc> | undefined) ?? conn.model<ImportChunkDoc>('ImportChunk', chunkSchema);
}
