import { z } from 'zod';
import { objectIdSchema } from './vocabulary';

/**
 * The vocabulary of outage incidents (alerts capability), shared by the server and the console.
 */

/** What a policy groups DOWN points by: the top of the upstream chain (NVR/switch), a region tier, or the maintainer. */
export const incidentGroupKeys = ['upstream', 'grid', 'community', 'street', 'org'] as const;
export const incidentGroupKeySchema = z.enum(incidentGroupKeys);
export type IncidentGroupKey = z.infer<typeof incidentGroupKeySchema>;

/**
 * A member of an incident:
 * - firing: the point is DOWN and speaks for itself
 * - suppressed: DOWN while an upstream device (transitively) is DOWN: counted in that device's incident, no message of its own
 * - flapping: the point changes state too often; it stays one member until the mark clears
 * - resolved: back UP (or gone: removed, disabled)
 * - maintenance: entered a maintenance window (its time is excluded, the member no longer fires)
 * - released: was suppressed; its upstream device came back while it stayed DOWN, so it fires on its own elsewhere
 */
export const memberStates = ['firing', 'suppressed', 'flapping', 'resolved', 'maintenance', 'released'] as const;
export type MemberState = (typeof memberStates)[number];
/** Member states that keep an incident open. */
export const activeMemberStates: ReadonlySet<MemberState> = new Set(['firing', 'suppressed', 'flapping']);

export const incidentStates = ['open', 'resolved'] as const;
export type IncidentState = (typeof incidentStates)[number];

/** Who a notice goes to: a channel (robot, webhook…), a user, or every technician of a maintainer organisation. */
export const receiverSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('channel'), id: objectIdSchema }),
  z.strictObject({ kind: z.literal('user'), id: objectIdSchema }),
  z.strictObject({ kind: z.literal('org'), org: z.string().min(1).max(100) }),
]);
export type Receiver = z.infer<typeof receiverSchema>;

export const escalationStepSchema = z.strictObject({
  /** Seconds after the incident was first announced; 0 = with the first message. */
  afterSec: z.number().int().min(0).max(7 * 86_400),
  receivers: z.array(receiverSchema).min(1).max(50),
});
export type EscalationStep = z.infer<typeof escalationStepSchema>;

export const alertPolicyInputSchema = z.strictObject({
  name: z.string().trim().min(1).max(100),
  enabled: z.boolean().default(true),
  /** Lower runs first; a DOWN point joins the first enabled policy that matches it. */
  priority: z.number().int().min(0).max(10_000).default(100),
  match: z
    .strictObject({
      /** Region subtrees (any tier); empty = everywhere in the creator's scope. */
      regionIds: z.array(objectIdSchema).max(500).default([]),
      orgs: z.array(z.string().trim().min(1).max(100)).max(200).default([]),
      /** Every tag listed must be on the point. */
      tags: z.array(z.string().trim().min(1).max(50)).max(50).default([]),
      /** GB/T 28181 type codes (digits 11–13), e.g. 132 IP camera, 118 NVR. */
      types: z.array(z.string().regex(/^\d{3}$/, 'must be a 3-digit GB/T 28181 type code')).max(50).default([]),
    })
    .default({ regionIds: [], orgs: [], tags: [], types: [] }),
  groupBy: incidentGroupKeySchema.default('upstream'),
  groupWaitSec: z.number().int().min(0).max(3600).default(30),
  groupIntervalSec: z.number().int().min(1).max(86_400).default(300),
  repeatIntervalSec: z.number().int().min(60).max(7 * 86_400).default(14_400),
  /** Receivers of every message of the incident (firing, updates, reminders, resolved). */
  receivers: z.array(receiverSchema).max(50).default([]),
  /** Steps paged while the incident is unacknowledged; acknowledging or resolving stops the chain. */
  escalation: z
    .strictObject({
      steps: z.array(escalationStepSchema).max(10).default([]),
      /** How many more times the whole chain runs after its last step (each round one chain length later). */
      repeat: z.number().int().min(0).max(10).default(0),
    })
    .default({ steps: [], repeat: 0 }),
});
export type AlertPolicyInput = z.infer<typeof alertPolicyInputSchema>;
export type AlertPolicy = AlertPolicyInput & { id: string };

export interface IncidentMember {
  pointId: string;
  state: MemberState;
  /** When the point went DOWN (this time). */
  since: string;
  /** When it stopped being active (resolved, maintenance, released). */
  endedAt: string | null;
  /** The upstream device it is suppressed by (its nearest DOWN upstream point). */
  suppressedBy: string | null;
  /** Whether a message has named it firing (then its resolution is always announced). */
  announced: boolean;
}

export interface TimelineEntry {
  at: string;
  kind: 'opened' | 'member' | 'notified' | 'acknowledged' | 'assigned' | 'comment' | 'escalated' | 'resolved' | 'closed';
  text: string;
  by: string | null;
  /** The member point an entry is about (visibility filters entries by it). */
  pointId: string | null;
}

export interface Incident {
  id: string;
  policyId: string;
  groupBy: IncidentGroupKey;
  /** The grouping value: an upstream point id, a region id or an organisation name. */
  groupKey: string;
  state: IncidentState;
  openedAt: string;
  resolvedAt: string | null;
  /** Bumped by every change; a notice carries the revision it describes (the outbox's idempotency key uses it). */
  revision: number;
  /** Whether a firing message has gone out: then a resolved message always follows. */
  announced: boolean;
  ackedAt: string | null;
  ackedBy: string | null;
  assignee: string | null;
  members: IncidentMember[];
  timeline: TimelineEntry[];
}

/** Why a notice is sent. */
export const noticeKinds = ['firing', 'update', 'reminder', 'escalation', 'resolved'] as const;
export type NoticeKind = (typeof noticeKinds)[number];

// ---- REST shapes (/api/v1/incidents, /api/v1/alert-policies) ----------------------------------------------

export const incidentListQuerySchema = z.strictObject({
  state: z.enum(incidentStates).optional(),
  /** Only incidents with a member in this region's subtree. */
  regionId: objectIdSchema.optional(),
  /** Only incidents with a member maintained by this organisation. */
  org: z.string().trim().min(1).max(100).optional(),
  /** Only incidents this point is (or was) a member of (the point's page). */
  pointId: objectIdSchema.optional(),
  /** Only incidents assigned to me (the caller). */
  mine: z.enum(['true', 'false']).transform((v) => v === 'true').optional(),
  acked: z.enum(['true', 'false']).transform((v) => v === 'true').optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  /** Opaque cursor of the previous page's `nextCursor`. */
  cursor: z.string().regex(/^[0-9a-f]{24}$/, 'must be a cursor from a previous page').optional(),
});
export type IncidentListQuery = z.infer<typeof incidentListQuerySchema>;

export const incidentIdParamsSchema = z.strictObject({ id: objectIdSchema });
export const assignBodySchema = z.strictObject({ userId: objectIdSchema });
export const commentBodySchema = z.strictObject({ text: z.string().trim().min(1).max(2000) });

const memberViewSchema = z.object({
  pointId: z.string(),
  name: z.string(),
  gbCode: z.string(),
  regionId: z.string(),
  org: z.string(),
  state: z.enum(memberStates),
  since: z.string(),
  endedAt: z.string().nullable(),
  suppressedBy: z.string().nullable(),
  announced: z.boolean(),
});

export const incidentViewSchema = z.object({
  id: z.string(),
  policyId: z.string(),
  policyName: z.string(),
  groupBy: incidentGroupKeySchema,
  groupKey: z.string(),
  state: z.enum(incidentStates),
  openedAt: z.string(),
  resolvedAt: z.string().nullable(),
  revision: z.number().int(),
  announced: z.boolean(),
  ackedAt: z.string().nullable(),
  ackedBy: z.string().nullable(),
  assignee: z.string().nullable(),
  /** Counts over the members the caller may see. */
  counts: z.object({ firing: z.number().int(), suppressed: z.number().int(), flapping: z.number().int(), ended: z.number().int() }),
  members: z.array(memberViewSchema),
  timeline: z
    .array(z.object({ at: z.string(), kind: z.string(), text: z.string(), by: z.string().nullable(), pointId: z.string().nullable() }))
    .optional(),
});
export type IncidentView = z.infer<typeof incidentViewSchema>;

export const incidentPageSchema = z.object({ items: z.array(incidentViewSchema), nextCursor: z.string().nullable() });
export type IncidentPage = z.infer<typeof incidentPageSchema>;

export const alertPolicySchema = alertPolicyInputSchema.extend({ id: z.string(), version: z.number().int(), createdAt: z.string(), updatedAt: z.string() });
export type AlertPolicyView = z.infer<typeof alertPolicySchema>;
export const alertPolicyListSchema = z.object({ items: z.array(alertPolicySchema) });

/**
 * `GET /incidents/:id/assignees`: the technicians the incident may be assigned to — of a maintainer
 * organisation of a member the caller sees, enabled, and able to see the incident themselves.
 */
export const incidentAssigneeSchema = z.object({ id: z.string(), username: z.string(), displayName: z.string(), maintainerOrg: z.string() });
export type IncidentAssignee = z.infer<typeof incidentAssigneeSchema>;
export const incidentAssigneeListSchema = z.object({ items: z.array(incidentAssigneeSchema) });

/** The incident events on /live, in the order an incident lives them. */
export const incidentEvents = ['incident:opened', 'incident:updated', 'incident:resolved'] as const;
export type IncidentEvent = (typeof incidentEvents)[number];

/** Socket.IO events on the /live namespace (each carries the incident as the receiving user may see it). */
export interface IncidentServerEvents {
  'incident:opened': (incident: IncidentView) => void;
  'incident:updated': (incident: IncidentView) => void;
  'incident:resolved': (incident: IncidentView) => void;
}

// ---- silences (/api/v1/silences) -------------------------------------------------------------------------------

/** Which points a silence (or a maintenance window) covers: every listed criterion must hold; at least one is given. */
export const pointMatcherSchema = z
  .strictObject({
    pointIds: z.array(objectIdSchema).max(5000).default([]),
    /** Region subtrees. */
    regionIds: z.array(objectIdSchema).max(500).default([]),
    orgs: z.array(z.string().trim().min(1).max(100)).max(200).default([]),
    /** Every tag listed must be on the point. */
    tags: z.array(z.string().trim().min(1).max(50)).max(50).default([]),
  })
  .refine((m) => m.pointIds.length + m.regionIds.length + m.orgs.length + m.tags.length > 0, { message: 'name at least one of pointIds, regionIds, orgs, tags' });
export type PointMatcher = z.infer<typeof pointMatcherSchema>;

export const silenceInputSchema = z
  .strictObject({
    matcher: pointMatcherSchema,
    /** Default: now. */
    startsAt: z.iso.datetime({ offset: true }).optional(),
    endsAt: z.iso.datetime({ offset: true }),
    comment: z.string().trim().min(1).max(500),
  })
  .refine((s) => Date.parse(s.endsAt) > (s.startsAt ? Date.parse(s.startsAt) : Date.now()), { message: 'endsAt must be after startsAt (and in the future)', path: ['endsAt'] });
export type SilenceInput = z.infer<typeof silenceInputSchema>;

export const silenceSchema = z.object({
  id: z.string(),
  matcher: z.object({ pointIds: z.array(z.string()), regionIds: z.array(z.string()), orgs: z.array(z.string()), tags: z.array(z.string()) }),
  startsAt: z.string(),
  endsAt: z.string(),
  comment: z.string(),
  createdBy: z.string(),
  createdAt: z.string(),
  /** Set when ended early by hand. */
  expiredBy: z.string().nullable(),
  active: z.boolean(),
});
export type SilenceView = z.infer<typeof silenceSchema>;
export const silenceListSchema = z.object({ items: z.array(silenceSchema) });
