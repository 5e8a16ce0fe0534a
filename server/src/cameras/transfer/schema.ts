import { z } from 'zod';
import { cameraListQuerySchema } from '../schema';
import { encodingParam } from './decode';
import { exportLangs, importFormats, importModes } from '../../contracts/import';

/** POST /cameras/import query. */
export const importQuerySchema = z.strictObject({
  mode: z.enum(importModes, { message: `mode must be one of ${importModes.join(', ')}` }).default('dry-run'),
  /** Normally detected from the file's first bytes and name. */
  format: z.enum(importFormats).optional(),
  /** Text files only; normally detected (BOM → UTF-8; valid UTF-8 → UTF-8; else GB18030). */
  encoding: z.enum(encodingParam).optional(),
  /** true: answer 202 with the import job once the file is uploaded, instead of waiting for the report. */
  async: z
    .enum(['true', 'false', '1', '0'])
    .optional()
    .transform((v) => v === 'true' || v === '1'),
});

/** GET /cameras/import/jobs/{id}. */
export const importJobParamsSchema = z.strictObject({ id: z.string().max(64) });
export type ImportQuery = z.infer<typeof importQuerySchema>;

/** The multipart body, for the OpenAPI document only (the route reads it as a stream). */
export const importBodyDoc = z
  .object({ file: z.string().meta({ format: 'binary', description: 'CSV (UTF-8 or GBK/GB18030), XLSX, or GB/T 28181 Catalog XML' }) })
  .optional();

/** GET /cameras/export query: the list endpoint's filters, plus format and header language. */
export const exportQuerySchema = cameraListQuerySchema
  .omit({ sort: true, limit: true, cursor: true, count: true })
  .extend({
    format: z.enum(importFormats).default('csv'),
    lang: z.enum(exportLangs).default('zh'),
  });
export type ExportQuery = z.infer<typeof exportQuerySchema>;
