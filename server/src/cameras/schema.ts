import net from 'node:net';
import { z } from 'zod';
import type { FieldIssue } from '../lib/errors';
import { cameraStateSchema } from '../contracts/live';
import { cameraBodySchemas, gbCodeFormatSchema, hostFormatSchema, readOnlyEcho, type ProbeSettings } from '../contracts/cameras';
import { centerCodeMismatch, parseGbCode } from './gbcode';
import { objectIdSchema, regionTierSchema, sharingSchema, type RegionTier } from '../contracts/vocabulary';
import { configSchema } from '../config';
import { denyListOf, type Cidr } from '../lib/cidr';

/**
 * The server side of the camera point's schemas: the shapes live in contracts/cameras.ts (shared with the
 * console); this module adds the checks that need Node or the registry, the list query and the
 * cross-field validation.
 */

const HOSTNAME_RE = /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

export function isHostOrIp(host: string): boolean {
  return net.isIP(host) !== 0 || HOSTNAME_RE.test(host);
}

const gbCodeSchema = gbCodeFormatSchema.superRefine((code, ctx) => {
  const r = parseGbCode(code);
  if (!r.ok) ctx.addIssue({ code: 'custom', message: r.message });
});

const hostSchema = hostFormatSchema.refine(isHostOrIp, 'must be an IPv4/IPv6 address or a hostname');

export const { cameraInputSchema, cameraPatchSchema } = cameraBodySchemas({ gbCode: gbCodeSchema, host: hostSchema });

export interface ProbeDefaults {
  PROBE_DEFAULT_KIND: ProbeSettings['kind'];
  PROBE_DEFAULT_INTERVAL_SEC: number;
  PROBE_DEFAULT_TIMEOUT_MS: number;
  PROBE_DEFAULT_RETRIES: number;
  /** Ranges no endpoint may target (config PROBE_DENY_CIDRS); absent = its default. */
  PROBE_DENY_CIDRS?: readonly Cidr[];
}

const defaultDenyCidrs: readonly Cidr[] = configSchema.shape.PROBE_DENY_CIDRS.parse(undefined);

export function applyProbeDefaults(p: CameraInput['probe'], d: ProbeDefaults): ProbeSettings {
  return {
    kind: p?.kind ?? d.PROBE_DEFAULT_KIND,
    intervalSec: p?.intervalSec ?? d.PROBE_DEFAULT_INTERVAL_SEC,
    timeoutMs: p?.timeoutMs ?? d.PROBE_DEFAULT_TIMEOUT_MS,
    retries: p?.retries ?? d.PROBE_DEFAULT_RETRIES,
  };
}

export type CameraInputRaw = z.input<typeof cameraInputSchema>;
type ParsedInput = z.infer<typeof cameraInputSchema>;
/** A parsed create input without the ignored echo fields. */
export type CameraInput = Omit<ParsedInput, keyof typeof readOnlyEcho | 'version'>;

export function stripEcho(parsed: ParsedInput): CameraInput {
  const { id: _i, gb: _g, status: _s, createdAt: _c, updatedAt: _u, version: _v, ...rest } = parsed;
  return rest;
}

export type CameraPatch = z.infer<typeof cameraPatchSchema>;


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
  tier: regionTierSchema.optional().describe('points registered at a region of this tier; grid = points that have a grid'),
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

/** What cross-field validation needs to know about regions (the regions service provides it). */
export interface RegionLookup {
  get(id: string): { id: string; tier: RegionTier; code: string | null; name: string } | undefined;
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
 * Cross-field checks a schema cannot do alone: the endpoint host lies outside PROBE_DENY_CIDRS, the region
 * exists and is a district/street/community, the grid lies inside it, and the code's center digits match the
 * nearest division code. Returns every
 * problem (empty = valid). `input` is an already schema-parsed value.
 */
export function validateCameraInput(
  input: Pick<CameraInput, 'gbCode' | 'regionId' | 'gridId'> & { upstreamId?: string | null; endpoint?: { host: string | null } },
  regions: RegionLookup,
  self?: { id: string },
  probe: Pick<ProbeDefaults, 'PROBE_DENY_CIDRS'> = {},
): FieldIssue[] {
  const issues: FieldIssue[] = [];
  // the one place REST writes and imports check where a point may be aimed (the probes check again when they run)
  const host = input.endpoint?.host;
  const hostProblem = host ? denyListOf(probe.PROBE_DENY_CIDRS ?? defaultDenyCidrs).hostProblem(host) : null;
  if (hostProblem) issues.push({ field: 'endpoint.host', message: hostProblem });
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
