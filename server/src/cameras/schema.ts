import net from 'node:net';
import { z } from 'zod';
import type { FieldIssue } from '../lib/errors';
import { cameraStateSchema } from '../contracts/live';
import { centerCodeMismatch, parseGbCode } from './gbcode';
import { objectIdSchema, probeKindSchema, sharingSchema } from '../contracts/vocabulary';

/**
 * The camera point's public JSON shape. Names are part of the public API (issue 3); zod is the single
 * source for validation, TypeScript types and the OpenAPI document.
 */

const HOSTNAME_RE = /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

export function isHostOrIp(host: string): boolean {
  return net.isIP(host) !== 0 || HOSTNAME_RE.test(host);
}

const port = z.number().int('must be an integer').min(1, 'must be 1-65535').max(65535, 'must be 1-65535');

export const gbCodeSchema = z
  .string()
  .regex(/^\d{20}$/, 'must be exactly 20 digits (GB/T 28181 code)')
  .superRefine((code, ctx) => {
    const r = parseGbCode(code);
    if (!r.ok) ctx.addIssue({ code: 'custom', message: r.message });
  });

export const locationSchema = z.strictObject({
  lon: z.number().min(-180, 'longitude must be -180..180').max(180, 'longitude must be -180..180'),
  lat: z.number().min(-90, 'latitude must be -90..90').max(90, 'latitude must be -90..90'),
});

export const hostSchema = z
  .string()
  .trim()
  .min(1, 'required')
  .max(253)
  .refine(isHostOrIp, 'must be an IPv4/IPv6 address or a hostname');

/**
 * A point's host as sent. Null (or an empty cell/string, or leaving it out of a create) registers a point
 * not yet connected (未接入: planned, under construction, or reached only through an upper platform):
 * it is not probed until a host is set.
 */
export const optionalHostSchema = z
  .string()
  .trim()
  .transform((s) => (s === '' ? null : s))
  .pipe(hostSchema.nullable())
  .nullable();

const rtspPathSchema = z.string().max(512).regex(/^(\/[\x21-\x7e]*)?$/, 'must start with "/" and contain no spaces or control characters');

const probeIntervalSec = z.number().int().min(5, 'must be 5-86400 s').max(86_400, 'must be 5-86400 s');
const probeTimeoutMs = z.number().int().min(100, 'must be 100-60000 ms').max(60_000, 'must be 100-60000 ms');
const probeRetries = z.number().int().min(0, 'must be 0-10').max(10, 'must be 0-10');

/** Probe settings as sent: each field optional, filled from PROBE_DEFAULT_* by `applyProbeDefaults`. */
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

export interface ProbeDefaults {
  PROBE_DEFAULT_KIND: ProbeSettings['kind'];
  PROBE_DEFAULT_INTERVAL_SEC: number;
  PROBE_DEFAULT_TIMEOUT_MS: number;
  PROBE_DEFAULT_RETRIES: number;
}

export function applyProbeDefaults(p: z.infer<typeof probeInputSchema> | undefined, d: ProbeDefaults): ProbeSettings {
  return {
    kind: p?.kind ?? d.PROBE_DEFAULT_KIND,
    intervalSec: p?.intervalSec ?? d.PROBE_DEFAULT_INTERVAL_SEC,
    timeoutMs: p?.timeoutMs ?? d.PROBE_DEFAULT_TIMEOUT_MS,
    retries: p?.retries ?? d.PROBE_DEFAULT_RETRIES,
  };
}

export const endpointInputSchema = z.strictObject({
  host: optionalHostSchema.default(null),
  rtspPort: port.default(554),
  rtspPath: rtspPathSchema.default(''),
  httpPort: port.optional(),
  onvifPort: port.optional(),
});

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
const readOnlyEcho = {
  id: z.unknown().optional(),
  gb: z.unknown().optional(),
  status: z.unknown().optional(),
  createdAt: z.unknown().optional(),
  updatedAt: z.unknown().optional(),
};

const cameraFields = {
  gbCode: gbCodeSchema,
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
export const cameraInputSchema = z.strictObject({ ...cameraFields, ...readOnlyEcho, version: z.unknown().optional() });
export type CameraInputRaw = z.input<typeof cameraInputSchema>;
type ParsedInput = z.infer<typeof cameraInputSchema>;
/** A parsed create input without the ignored echo fields. */
export type CameraInput = Omit<ParsedInput, keyof typeof readOnlyEcho | 'version'>;

export function stripEcho(parsed: ParsedInput): CameraInput {
  const { id: _i, gb: _g, status: _s, createdAt: _c, updatedAt: _u, version: _v, ...rest } = parsed;
  return rest;
}

/**
 * PATCH /cameras/:id body: any subset; nested objects merge field by field; `null` clears a nullable
 * field. `version` (or the If-Match header) makes the update conditional.
 */
export const cameraPatchSchema = z.strictObject({
  gbCode: gbCodeSchema.optional(),
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
export type CameraPatch = z.infer<typeof cameraPatchSchema>;

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

export const cameraSortKeys = ['gbCode', 'name', 'vendor', 'createdAt', 'updatedAt', 'state'] as const;

const boolQuery = z.enum(['true', 'false']).transform((v) => v === 'true');
const csv = <T extends z.ZodType<string, string>>(item: T) =>
  z
    .string()
    .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean))
    .pipe(z.array(item).max(50));

/** GET /cameras query. Every filter combines with AND; multi-valued ones accept comma-separated values. */
export const cameraListQuerySchema = z.strictObject({
  regionId: objectIdSchema.optional().describe('points of this region (a grid: points whose gridId is it)'),
  subtree: boolQuery.default(true).describe('with regionId: include the whole subtree (default) or only the node itself'),
  tier: z.enum(['district', 'street', 'community', 'grid']).optional().describe('points registered at a region of this tier; grid = points that have a grid'),
  vendor: csv(z.string().max(64)).optional().describe('comma-separated, any of'),
  maintainer: csv(z.string().max(128)).optional().describe('maintainer.org, comma-separated, any of'),
  tag: csv(z.string().max(32)).optional().describe('comma-separated, any of'),
  enabled: boolQuery.optional(),
  state: csv(cameraStateSchema).optional().describe('status.state, comma-separated, any of'),
  sharing: csv(sharingSchema).optional(),
  type: csv(z.string().regex(/^\d{3}$/)).optional().describe('GB/T 28181 type code (digits 11-13), e.g. 132,118'),
  upstreamId: objectIdSchema.optional().describe('points behind this NVR/switch point'),
  q: z.string().trim().max(64).optional().describe('substring of name or address (Chinese works), a gbCode or part of one'),
  sort: z
    .string()
    .regex(new RegExp(`^-?(${cameraSortKeys.join('|')})$`), `one of ${cameraSortKeys.join(', ')}, optionally prefixed with "-"`)
    .default('gbCode'),
  limit: z.coerce.number().int().min(1).max(1000).default(50),
  cursor: z.string().max(1024).optional().describe('nextCursor of the previous page (same filters and sort)'),
  count: boolQuery.default(true).describe('include total (false skips the count)'),
});
export type CameraListQuery = z.infer<typeof cameraListQuerySchema>;

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

/** What cross-field validation needs to know about regions (the regions service provides it). */
export interface RegionLookup {
  get(id: string): { id: string; tier: 'district' | 'street' | 'community' | 'grid'; code: string | null; name: string } | undefined;
  /** The region followed by its ancestors up to the root; empty when unknown. */
  ancestorsOrSelf(id: string): string[];
}

/** The nearest division code on the path from the region up to the root. */
export function effectiveRegionCode(regions: RegionLookup, regionId: string): { code: string; regionName: string } | null {
  for (const id of regions.ancestorsOrSelf(regionId)) {
    const r = regions.get(id);
    if (r?.code) return { code: r.code, regionName: r.name };
  }
  return null;
}

/**
 * Cross-field checks a schema cannot do alone: the region exists and is a district/street/community, the
 * grid lies inside it, and the code's center digits match the nearest division code. Returns every
 * problem (empty = valid). `input` is an already schema-parsed value.
 */
export function validateCameraInput(
  input: Pick<CameraInput, 'gbCode' | 'regionId' | 'gridId'> & { upstreamId?: string | null },
  regions: RegionLookup,
  self?: { id: string },
): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const gb = parseGbCode(input.gbCode);
  if (!gb.ok) issues.push({ field: 'gbCode', message: gb.message });
  const region = regions.get(input.regionId);
  if (!region) {
    issues.push({ field: 'regionId', message: `unknown region ${input.regionId}` });
  } else if (region.tier === 'grid') {
    issues.push({ field: 'regionId', message: 'must be a district, street or community (put the grid in gridId)' });
  } else {
    const eff = effectiveRegionCode(regions, region.id);
    if (gb.ok && eff) {
      const why = centerCodeMismatch(input.gbCode, eff.code);
      if (why) issues.push({ field: 'gbCode', message: `${why} (${eff.regionName})` });
    }
  }
  if (input.gridId) {
    const grid = regions.get(input.gridId);
    if (!grid) issues.push({ field: 'gridId', message: `unknown grid ${input.gridId}` });
    else if (grid.tier !== 'grid') issues.push({ field: 'gridId', message: `region ${grid.name} is a ${grid.tier}, not a grid` });
    else if (region && !regions.ancestorsOrSelf(grid.id).includes(region.id)) {
      issues.push({ field: 'gridId', message: `grid ${grid.name} does not lie inside region ${region.name}` });
    }
  }
  if (self && input.upstreamId === self.id) issues.push({ field: 'upstreamId', message: 'a point cannot be its own upstream device' });
  return issues;
}
