import fs from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { Request } from 'express';
import { Router } from 'express';
import busboy from 'busboy';
import type { AuditService } from '../../audit/service';
import type { AppContext } from '../../context';
import { AppError } from '../../lib/errors';
import { defineRoute, RESPONDED } from '../../lib/http';
import type { RegionService } from '../../regions/service';
import type { CameraService } from '../service';
import { canonicalEncoding } from './decode';
import { exportRecords, writeCatalog, writeCsv, writeXlsxExport } from './export';
import { importJobSchema, importReportSchema } from '../../contracts/import';
import { exportQuerySchema, importBodyDoc, importJobParamsSchema, importQuerySchema } from './schema';
import { ImportTooLargeError } from './read';
import { importTempFile, removeImportFile, TransferService } from './service';
import { UnzipGuard } from './zip-guard';

interface Upload {
  path: string;
  size: number;
  filename: string;
}

/**
 * Streams the multipart field `file` to a temporary file (removed by the import run), refusing more than
 * `limit` bytes (413). Memory: busboy's buffers only, whatever the file's size. With `unzipCap`, a zip
 * (XLSX) is watched as it streams by (UnzipGuard): once its parts declare or inflate to more than the cap,
 * the upload is refused there (413): the rest of the body is read and dropped, not parsed, inflated or stored.
 */
function readUpload(req: Request, limit: number, onBytes: (n: number) => void, unzipCap: number | null): Promise<Upload> {
  if (!req.is('multipart/form-data')) {
    return Promise.reject(new AppError('unsupported_media_type', 'Content-Type must be multipart/form-data with the file in the field "file"'));
  }
  const declared = Number(req.headers['content-length'] ?? 0);
  // a body far beyond the limit is refused before reading it; one just above is read and cut by busboy
  if (declared > limit * 2 + 1_048_576) {
    return Promise.reject(new AppError('payload_too_large', `the file exceeds the import limit of ${limit} bytes (IMPORT_LIMIT_BYTES)`));
  }
  return importTempFile().then(
    (tmp) =>
      new Promise<Upload>((resolve, reject) => {
        const fail = (err: AppError): void => {
          void removeImportFile(tmp);
          reject(err);
        };
        let bb: busboy.Busboy;
        try {
          bb = busboy({ headers: req.headers, limits: { files: 1, fileSize: limit, fields: 20, fieldSize: 4096, parts: 40 } });
        } catch {
          fail(new AppError('bad_request', 'malformed multipart/form-data header (missing boundary?)'));
          return;
        }
        let filename = '';
        let size = 0;
        let found = false;
        let tooLarge = false;
        let written: Promise<void> = Promise.resolve();
        bb.on('file', (name, stream, info) => {
          if (name !== 'file' || found) {
            stream.resume();
            return;
          }
          found = true;
          filename = info.filename ?? '';
          const out = fs.createWriteStream(tmp);
          stream.on('data', (c: Buffer) => {
            size += c.length;
            onBytes(size);
          });
          stream.on('limit', () => {
            tooLarge = true;
          });
          if (unzipCap === null) {
            written = pipeline(stream, out);
            return;
          }
          written = pipeline(stream, new UnzipGuard(unzipCap), out);
          written.catch((err: unknown) => {
            if (!(err instanceof ImportTooLargeError)) return;
            // refused now: busboy lets go of the request and the temporary file goes; the rest of the body is
            // read and dropped, and the 413 goes out once it is in (HTTP clients such as fetch reset a
            // connection that answers before their upload is done, and would show that instead of the 413)
            req.unpipe(bb);
            void removeImportFile(tmp);
            dropRest(req, limit, () => fail(new AppError('payload_too_large', err.message, [{ field: 'file', message: err.message }])));
          });
        });
        bb.on('error', () => fail(new AppError('bad_request', 'malformed multipart/form-data body')));
        bb.on('close', () => {
          written.then(
            () => {
              if (tooLarge) fail(new AppError('payload_too_large', `the file exceeds the import limit of ${limit} bytes (IMPORT_LIMIT_BYTES)`));
              else if (!found) fail(new AppError('bad_request', 'the multipart field "file" is missing', [{ field: 'file', message: 'required' }]));
              else resolve({ path: tmp, size, filename });
            },
            () => fail(new AppError('bad_request', 'the upload was interrupted')),
          );
        });
        req.pipe(bb);
      }),
  );
}

/** Reads and drops what is left of a refused upload, then `done`; a body going on for `limit` more bytes is cut. */
function dropRest(req: Request, limit: number, done: () => void): void {
  let n = 0;
  req.on('data', (c: Buffer) => {
    n += c.length;
    if (n > limit) req.socket.destroy();
  });
  if (req.readableEnded) done();
  else {
    req.once('end', done);
    req.once('close', done); // the client went away (or was cut): the import slot is freed all the same
  }
  req.resume();
}

function stamp(): string {
  return new Date().toISOString().replace(/[-:]/g, '').slice(0, 13);
}

const contentTypes = {
  csv: 'text/csv; charset=utf-8',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  gb28181: 'application/xml; charset=utf-8',
} as const;
const extensions = { csv: 'csv', xlsx: 'xlsx', gb28181: 'xml' } as const;

export interface TransferRouteDeps {
  cameras: CameraService;
  regions: RegionService;
  audit: AuditService;
}

/**
 * Creates the transfer service, finishes any import interrupted by a crash (before the server takes
 * requests), and mounts `POST /cameras/import` and `GET /cameras/export`. Mount it before any
 * `/cameras/:id` route, or `import`/`export` would be taken for ids.
 */
export async function mountTransfer(api: Router, ctx: AppContext, deps: TransferRouteDeps): Promise<TransferService> {
  const service = new TransferService(ctx.store.conn, {
    ...deps,
    probeDefaults: ctx.config,
    logger: ctx.logger.child({ component: 'transfer' }),
    xlsxMaxUnzippedBytes: ctx.config.IMPORT_XLSX_MAX_UNZIPPED_BYTES,
  });
  await service.init();
  const recovered = await service.recover();
  if (recovered.rolledForward || recovered.aborted) ctx.logger.warn('interrupted imports recovered', recovered);

  const router = Router();
  // before the route's own parsing: a JSON or text body must get 415, not a validation error of its content
  router.post('/cameras/import', (req, _res, next) => {
    if (req.principal && !req.is('multipart/form-data')) {
      next(new AppError('unsupported_media_type', 'Content-Type must be multipart/form-data with the file in the field "file"'));
      return;
    }
    next();
  });
  defineRoute(router, ctx.openapi, {
    method: 'post',
    path: '/cameras/import',
    summary:
      'Import camera points from CSV (UTF-8 or GBK/GB18030), XLSX or GB/T 28181 Catalog XML; upsert by gbCode. ' +
      'mode=dry-run (default) writes nothing; all-or-nothing writes only when every row is valid (else 422 with the report in details); ' +
      'valid-only writes the valid rows. The file is streamed to disk and read in a worker thread. async=true answers 202 with the ' +
      'import job as soon as the file is uploaded (follow it with GET /cameras/import/jobs/{id}); otherwise the answer waits for the report. ' +
      'One import at a time: while one runs, 409 with its job id in error.details.jobId.',
    tags: ['cameras'],
    permission: 'camera:import',
    query: importQuerySchema,
    body: importBodyDoc,
    bodyContentType: 'multipart/form-data',
    responses: {
      200: { description: 'import report', schema: importReportSchema },
      202: { description: 'async=true: the import job, running', schema: importJobSchema },
      409: { description: 'another import is running (error.details.jobId names it)' },
      413: { description: 'file larger than IMPORT_LIMIT_BYTES, or an XLSX that unzips to more than IMPORT_XLSX_MAX_UNZIPPED_BYTES' },
      415: { description: 'not multipart/form-data' },
      422: { description: 'all-or-nothing: some rows are invalid; nothing was written (report in error.details)' },
    },
    handler: async ({ req, res, query, principal }) => {
      const run = service.reserve(principal, {
        mode: query.mode,
        ...(query.format ? { format: query.format } : {}),
        ...(query.encoding ? { encoding: canonicalEncoding(query.encoding) } : {}),
      });
      const declared = Number(req.headers['content-length'] ?? 0);
      if (declared > 0) run.progress.bytesTotal = declared;
      let upload: Upload;
      try {
        const unzipCap = query.format === 'csv' || query.format === 'gb28181' ? null : ctx.config.IMPORT_XLSX_MAX_UNZIPPED_BYTES;
        upload = await readUpload(req, ctx.config.IMPORT_LIMIT_BYTES, (n) => (run.progress.bytesDone = n), unzipCap);
      } catch (err) {
        service.abandon(run, err);
        throw err;
      }
      run.opts.filename = upload.filename;
      run.progress.bytesDone = upload.size;
      run.progress.bytesTotal = upload.size;
      const done = service.start(run, { path: upload.path, size: upload.size });
      if (!query.async) return done;
      done.catch(() => undefined); // the job keeps the error
      res.status(202).json(run.view());
      return RESPONDED;
    },
  });

  defineRoute(router, ctx.openapi, {
    method: 'get',
    path: '/cameras/import/jobs/:id',
    summary: 'An import job you started: phase, rows read / total, rows written, and the report (or the error) once finished.',
    tags: ['cameras'],
    permission: 'camera:import',
    params: importJobParamsSchema,
    responses: { 200: { description: 'the import job', schema: importJobSchema } },
    handler: ({ params, principal }) => {
      const job = service.job(principal, params.id);
      return job ? Promise.resolve(job) : Promise.reject(AppError.notFound('import job'));
    },
  });

  defineRoute(router, ctx.openapi, {
    method: 'get',
    path: '/cameras/export',
    summary:
      'Export the points the caller may see, with the same filters as GET /cameras: csv (UTF-8 with BOM, Chinese headers; lang=en for English), xlsx, ' +
      'or gb28181 (Catalog XML). The file imports back unchanged.',
    tags: ['cameras'],
    permission: 'camera:export',
    query: exportQuerySchema,
    responses: {
      200: { description: 'the file (streamed), in the media type of `format`', contentType: Object.values(contentTypes), headers: ['Content-Disposition'] },
      404: { description: 'a region of the filters is unknown (or outside your scope)' },
    },
    handler: async ({ query, principal, res }) => {
      const { format: _f, lang: _l, ...filters } = query;
      // validates the filters (404 for a region the caller cannot see) before anything is sent
      const filter = deps.cameras.listFilter(principal, filters);
      const total = query.format === 'gb28181' ? await deps.cameras.model.collection.countDocuments(filter) : 0;
      res.status(200);
      res.setHeader('Content-Type', contentTypes[query.format]);
      res.setHeader('Content-Disposition', `attachment; filename="cameras-${stamp()}.${extensions[query.format]}"`);
      res.setHeader('Cache-Control', 'no-store');
      const pages = exportRecords(deps.cameras, deps.regions, principal, query);
      try {
        if (query.format === 'csv') await writeCsv(res, query.lang, pages);
        else if (query.format === 'xlsx') await writeXlsxExport(res, query.lang, pages);
        else await writeCatalog(res, total, deps.regions, pages);
      } catch (err) {
        ctx.logger.error('export failed mid-stream', { err });
        res.destroy(err instanceof Error ? err : undefined);
      }
      return RESPONDED;
    },
  });
  api.use(router);
  return service;
}
