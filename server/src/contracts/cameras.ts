import { z } from 'zod';
import { cameraStateSchema } from './vocabulary';
import { objectIdSchema, probeKindSchema, sharingSchema } from './vocabulary';

/**
 * The camera point as `/api/v1/cameras` speaks it: what it answers and the bodies it takes. Names are part
 * of the public API; zod is the single source for validation, TypeScript types (server and console) and
 * the OpenAPI document. Browser-safe: checks that need Node or the registry (host syntax through
 * `node:net`, GB/T 28181 code structure) are handed in by the server (cameras/schema.ts).
 */

const port = z.number().int('must be an integer').min(1, 'must be 1-65535').max(65535, 'must be 1-65535');

/** The syntax of a GB/T 28181 code; the server adds the structure check (cameras/gbcode.ts). */
export const gbCodeFormatSchema = z.string().regex(/^\d{20}$/, 'must be exactly 20 digits (GB/T 28181 code)');

/** The length limits of a host; the server adds the IP/hostname check. */
export const hostFormatSchema = z.string().trim().min(1, 'required').max(253);

export const locationSchema = z.strictObject({
  lon: z.number().min(-180, 'longitude must be -180..180').max(180, 'longitude must be -180..180'),
  lat: z.number().min(-90, 'latitude must be -90..90').max(90, 'latitude must be -90..90'),
});

const rtspPathSchema = z.string().max(512).regex(/^(\/[\x21-\x7e]*)?$/, 'must start with "/" and contain no spaces or control characters');

const probeIntervalSec = z.number().int().min(5, 'must be 5-86400 s').max(86_400, 'must be 5-86400 s');
const probeTimeoutMs = z.number().int().min(100, 'must be 100-60000 ms').max(60_000, 'must be 100-60000 ms');
const probeRetries = z.number().int().min(0, 'must be 0-10').max(10, 'must be 0-10');

/** Probe settings as sent: each field optional, filled from PROBE_DEFAULT_* by the server. */
export const probeInputSchema = z.strictObject({
  kind: probeKindSchema.optional(),
  intervalSec: probeIntervalSec.optional(),
  timeoutMs: probeTimeoutMs.optional(),
  retries: probeRetries.optional(),
});

export const probeSchema = z.object({
  kind: probeKindSchema,
  intervalSec: z.number().int(),
  timeoutMs: z.number().int(),
  retries: z.number().int(),
});
export type ProbeSettings = z.infer<typeof probeSchema>;

/** Single-line text: control characters would break CSV/XML exports and the console's rendering. */
const text = (max: number) =>
  z
    .string()
    .trim()
    .max(max, `at most ${max} characters`)
    // eslint-disable-next-line no-control-regex
    .regex(/^[^\u0000-\u001f\u007f]*$/, 'control characters (line breaks, tabs …) are not allowed');
const multiline = (max: number) => z.string().trim().max(max, `at most ${max} characters`);

export const maintainerSchema = z.strictObject({
  org: text(128).default(''),
  contact: text(64).default(''),
  phone: z.string().trim().max(32).regex(/^[0-9+\-() ]*$/, 'digits, spaces and + - ( ) only').default(''),
});

const tagSchema = z.string().trim().min(1, 'empty tag').max(32, 'at most 32 characters per tag').regex(/^[^,;]+$/, 'no "," or ";" in a tag');
const tagsSchema = z.array(tagSchema).max(32, 'at most 32 tags').transform((tags) => [...new Set(tags)]);
const installedAtSchema = z.union([z.iso.datetime({ offset: true }), z.iso.date()], { message: 'must be an ISO date (YYYY-MM-DD) or date-time' });

/**
 * Read-only fields a client may send back from a GET (edit forms round-trip the whole object); they are
 * accepted and ignored so that unknown keys can still be refused as typos.
 */
export const readOnlyEcho = {
  id: z.unknown().optional(),
  gb: z.unknown().optional(),
  status: z.unknown().optional(),
  createdAt: z.unknown().optional(),
  updatedAt: z.unknown().optional(),
};

/** The checks the server adds to the browser-safe formats above (see cameras/schema.ts). */
export interface CameraBodyChecks {
  /** gbCodeFormatSchema plus the GB/T 28181 structure check. */
  gbCode: z.ZodString;
  /** hostFormatSchema plus the IP/hostname check. */
  host: z.ZodString;
}

/**
 * The request bodies of POST and PATCH /cameras, built once around the server's checks. The console only
 * takes their types (`CameraCreateBody`, `CameraPatchBody`), which the checks do not change.
 */
export function cameraBodySchemas(checks: CameraBodyChecks) {
  /**
   * A point's host as sent. Null (or an empty cell/string, or leaving it out of a create) registers a point
   * not yet connected (未接入: planned, under construction, or reached only through an upper platform):
   * it is not probed until a host is set.
   */
  const optionalHostSchema = z
    .string()
    .trim()
    .transform((s) => (s === '' ? null : s))
    .pipe(checks.host.nullable())
    .nullable();

  const endpointInputSchema = z.strictObject({
    host: optionalHostSchema.default(null),
    rtspPort: port.default(554),
    rtspPath: rtspPathSchema.default(''),
    httpPort: port.optional(),
    onvifPort: port.optional(),
  });

  const cameraFields = {
    gbCode: checks.gbCode,
    name: text(128).min(1, 'required'),
    regionId: objectIdSchema,
    gridId: objectIdSchema.nullable().default(null),
    address: text(256).default(''),
    location: locationSchema.nullable().default(null),
    endpoint: endpointInputSchema,
    probe: probeInputSchema.optional(),
    vendor: text(64).default(''),
    model: text(64).default(''),
    ownerUnit: text(128).default(''),
    maintainer: maintainerSchema.default({ org: '', contact: '', phone: '' }),
    sharing: sharingSchema.default('own'),
    upstreamId: objectIdSchema.nullable().default(null),
    tags: tagsSchema.default([]),
    enabled: z.boolean().default(true),
    installedAt: installedAtSchema.nullable().default(null),
    note: multiline(512).default(''),
  };

  /** POST /cameras body (and one import row after column mapping). */
  const cameraInputSchema = z.strictObject({ ...cameraFields, ...readOnlyEcho, version: z.unknown().optional() });

  /**
   * PATCH /cameras/:id body: any subset; nested objects merge field by field; `null` clears a nullable
   * field. `version` (or the If-Match header) makes the update conditional.
   */
  const cameraPatchSchema = z.strictObject({
    gbCode: checks.gbCode.optional(),
    name: text(128).min(1, 'required').optional(),
    regionId: objectIdSchema.optional(),
    gridId: objectIdSchema.nullable().optional(),
    address: text(256).optional(),
    location: locationSchema.nullable().optional(),
    endpoint: z
      .strictObject({
        host: optionalHostSchema.optional().describe('null or "" clears it: the point becomes not connected (未接入) and is no longer probed'),
        rtspPort: port.optional(),
        rtspPath: rtspPathSchema.optional(),
        httpPort: port.nullable().optional(),
        onvifPort: port.nullable().optional(),
      })
      .optional(),
    probe: probeInputSchema.optional(),
    vendor: text(64).optional(),
    model: text(64).optional(),
    ownerUnit: text(128).optional(),
    maintainer: z
      .strictObject({ org: maintainerSchema.shape.org.optional(), contact: maintainerSchema.shape.contact.optional(), phone: maintainerSchema.shape.phone.optional() })
      .optional(),
    sharing: sharingSchema.optional(),
    upstreamId: objectIdSchema.nullable().optional(),
    tags: tagsSchema.optional(),
    enabled: z.boolean().optional(),
    installedAt: installedAtSchema.nullable().optional(),
    note: multiline(512).optional(),
    version: z.number().int().min(1).optional(),
    ...readOnlyEcho,
  });

  return { endpointInputSchema, cameraInputSchema, cameraPatchSchema };
}

type CameraBodySchemas = ReturnType<typeof cameraBodySchemas>;
/** What a client sends to POST /cameras. */
export type CameraCreateBody = z.input<CameraBodySchemas['cameraInputSchema']>;
/** What a client sends to PATCH /cameras/:id. */
export type CameraPatchBody = z.input<CameraBodySchemas['cameraPatchSchema']>;

export const gbInfoSchema = z.object({
  center: z.string(),
  industry: z.string(),
  industryName: z.string(),
  type: z.string(),
  typeName: z.string(),
  network: z.string(),
  networkName: z.string(),
  serial: z.string(),
});

/** Written by the monitoring capability straight into the collection; read-only through this API. */
export const cameraStatusSchema = z.object({
  state: cameraStateSchema,
  since: z.string().nullable(),
  lastCheckAt: z.string().nullable(),
  rttMs: z.number().nullable(),
  flapping: z.boolean(),
  reason: z.string().nullable(),
});
export type CameraStatus = z.infer<typeof cameraStatusSchema>;

export const cameraSchema = z.object({
  id: z.string(),
  gbCode: z.string(),
  name: z.string(),
  regionId: z.string(),
  gridId: z.string().nullable(),
  address: z.string(),
  location: z.object({ lon: z.number(), lat: z.number() }).nullable(),
  endpoint: z.object({
    host: z.string().nullable().describe('null: not connected yet (未接入), not probed'),
    rtspPort: z.number().int(),
    rtspPath: z.string(),
    httpPort: z.number().int().nullable(),
    onvifPort: z.number().int().nullable(),
  }),
  probe: probeSchema,
  vendor: z.string(),
  model: z.string(),
  ownerUnit: z.string(),
  maintainer: z.object({ org: z.string(), contact: z.string(), phone: z.string() }),
  sharing: sharingSchema,
  upstreamId: z.string().nullable(),
  tags: z.array(z.string()),
  enabled: z.boolean(),
  installedAt: z.string().nullable(),
  note: z.string(),
  gb: gbInfoSchema,
  status: cameraStatusSchema,
  version: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
/** A camera point as every service returns it (plain object, ids as strings, dates as ISO strings). */
export type Camera = z.infer<typeof cameraSchema>;

/**
 * Counting stops here for a free-text query whose matches the store must test one by one (a search for a
 * district name matches every point: an exact count would read all 300,000 of them on every page).
 */
export const TEXT_COUNT_CAP = 1000;

export const cameraPageSchema = z.object({
  items: z.array(cameraSchema),
  nextCursor: z.string().nullable(),
  total: z
    .number()
    .int()
    .nullable()
    .describe(`points matching the filters (null with count=false); for a free-text q that must test points one by one (3 or more characters, or no Chinese character) counting stops at ${TEXT_COUNT_CAP}`),
  totalCapped: z.boolean().describe(`true when more than ${TEXT_COUNT_CAP} points match a free-text q: total is then ${TEXT_COUNT_CAP}`),
});
export type CameraPage = z.infer<typeof cameraPageSchema>;
