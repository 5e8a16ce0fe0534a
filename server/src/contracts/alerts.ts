import { z } from 'zod';

/**
 * Alerts vocabulary shared with the console: the neutral message an incident engine fills (rendered per
 * channel kind by server/src/alerts/render.ts), the channels' REST shapes and the outbox's delivery view.
 * Browser-safe (zod only).
 */

/** Where a message goes: one sender file per kind in server/src/alerts/channels/. */
export const channelKinds = ['wecom', 'dingtalk', 'feishu', 'email', 'sms', 'webhook'] as const;
export const channelKindSchema = z.enum(channelKinds);
export type ChannelKind = z.infer<typeof channelKindSchema>;

export const alertMessageStates = ['firing', 'resolved'] as const;
export const alertMessageStateSchema = z.enum(alertMessageStates);
export type AlertMessageState = z.infer<typeof alertMessageStateSchema>;

/** incident: a notice about an incident (the default); report: a scheduled report (no points, figures in `summary`). */
export const alertMessageKinds = ['incident', 'report'] as const;

/** One point named in a message. */
export const alertPointSchema = z.object({
  name: z.string().max(200),
  /** GB/T 28181 code (null: a point registered without one). */
  code: z.string().max(64).nullable(),
  /** Region names from the top tier down, e.g. ["铁东区", "站前街道", "光明社区"]. */
  regionPath: z.array(z.string().max(100)).max(8),
  /** Maintainer organisation (null: none recorded). */
  maintainer: z.string().max(200).nullable(),
  /** Since when the point is in the message's state (ISO 8601). */
  since: z.iso.datetime({ offset: true }),
});
export type AlertPoint = z.infer<typeof alertPointSchema>;

/**
 * What an incident engine hands the outbox for one (incident, revision, receiver). Neutral: no channel
 * syntax; each channel renders it (Chinese first) within its own byte limit.
 */
export const alertMessageSchema = z.object({
  title: z.string().min(1).max(200),
  state: alertMessageStateSchema,
  /** The points to name (a renderer lists as many as fit and says how many it left out). */
  points: z.array(alertPointSchema).max(10_000),
  /** Points of the incident in total when `points` lists only some (default: points.length). */
  totalPoints: z.number().int().min(0).optional(),
  /** Points behind a DOWN parent that send no message of their own. */
  suppressed: z.number().int().min(0).default(0),
  /** Console link to the incident (absolute URL), or null. */
  link: z.string().max(2000).nullable().default(null),
  /** When the incident took this revision (ISO 8601). */
  at: z.iso.datetime({ offset: true }),
  /**
   * What the message is about: an incident (absent: the default) or a report delivered on schedule (the
   * monthly assessment, server/src/reports/monthly-report.ts), which has no state or points of its own and
   * says its figures in `summary`.
   */
  kind: z.enum(alertMessageKinds).optional(),
  /** Lines of a report's figures, in order (rendered between the heading and the link). */
  summary: z.array(z.string().max(300)).max(40).optional(),
});
export type AlertMessage = z.infer<typeof alertMessageSchema>;
export type AlertMessageInput = z.input<typeof alertMessageSchema>;

const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).max(2000);
const headerMap = z.record(z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$/, 'must be an HTTP header name'), z.string().max(2000));

/**
 * Per kind: `settings` are returned by the API; `secrets` are write-only, stored encrypted (AES-256-GCM)
 * and answered only as `secretFields` / `hasSecret`. A robot's webhook URL carries its access token, so it
 * is a secret too (the API shows its origin).
 */
export const channelSettingsSchemas = {
  wecom: z.strictObject({
    msgtype: z.enum(['text', 'markdown']).default('text'),
    /** Mobile numbers to @ in text messages ("@all" for everyone). */
    mentionedMobiles: z.array(z.string().max(32)).max(50).default([]),
  }),
  dingtalk: z.strictObject({
    msgtype: z.enum(['text', 'markdown']).default('text'),
    /** The robot's custom keyword (security setting "自定义关键词"): added to every message. */
    keyword: z.string().max(50).nullable().default(null),
    atMobiles: z.array(z.string().max(32)).max(50).default([]),
  }),
  feishu: z.strictObject({
    /** The bot's custom keyword, added to every message. */
    keyword: z.string().max(50).nullable().default(null),
  }),
  email: z.strictObject({
    host: z.string().min(1).max(255),
    port: z.number().int().min(1).max(65535).default(25),
    /** true: TLS from the start (port 465); false: plain, upgraded by STARTTLS when offered. */
    secure: z.boolean().default(false),
    /** Refuse servers whose TLS certificate does not verify (false for an intranet relay with its own CA). */
    tlsVerify: z.boolean().default(true),
    username: z.string().max(255).nullable().default(null),
    from: z.string().min(3).max(255),
    to: z.array(z.email()).min(1).max(100),
  }),
  sms: z.strictObject({
    /** Gateway URL; placeholders allowed (URL-encoded when filled). */
    url: z.string().min(1).max(2000).regex(/^https?:\/\//, 'must be an http(s) URL'),
    method: z.enum(['POST', 'PUT', 'GET']).default('POST'),
    headers: headerMap.default({}),
    contentType: z.enum(['application/json', 'application/x-www-form-urlencoded', 'text/plain']).default('application/json'),
    /**
     * Body template. Placeholders: {{phones}} (comma-separated), {{text}}, {{key}} (idempotency key),
     * {{timestamp}} (unix seconds), {{secret}} (the channel's token). Each is escaped for the content type.
     */
    bodyTemplate: z.string().max(10_000).default(''),
    phoneNumbers: z.array(z.string().regex(/^\+?[0-9]{5,20}$/, 'must be a phone number')).min(1).max(200),
    /** Longest text sent, in characters. */
    maxChars: z.number().int().min(20).max(2000).default(300),
    success: z
      .strictObject({
        /** HTTP statuses counted as accepted (default: any 2xx). */
        statuses: z.array(z.number().int().min(100).max(599)).max(20).default([]),
        /** A JSON field of the answer (dot path) and the value that means accepted, e.g. "code" = "0". */
        jsonField: z.string().max(100).nullable().default(null),
        jsonEquals: z.string().max(200).nullable().default(null),
        /** Text the answer must contain. */
        bodyContains: z.string().max(200).nullable().default(null),
      })
      .default({ statuses: [], jsonField: null, jsonEquals: null, bodyContains: null }),
  }),
  webhook: z.strictObject({
    url: httpUrl,
    headers: headerMap.default({}),
  }),
} as const;

export const channelSecretsSchemas = {
  wecom: z.strictObject({ webhookUrl: httpUrl }),
  dingtalk: z.strictObject({ webhookUrl: httpUrl, secret: z.string().min(1).max(200).nullable().optional() }),
  feishu: z.strictObject({ webhookUrl: httpUrl, secret: z.string().min(1).max(200).nullable().optional() }),
  email: z.strictObject({ password: z.string().min(1).max(500).nullable().optional() }),
  sms: z.strictObject({ secret: z.string().min(1).max(2000).nullable().optional() }),
  webhook: z.strictObject({ secret: z.string().min(16, 'must be at least 16 characters').max(500) }),
} as const satisfies Record<ChannelKind, z.ZodType>;

export type ChannelSettings = { [K in ChannelKind]: z.infer<(typeof channelSettingsSchemas)[K]> };
export type ChannelSecrets = { [K in ChannelKind]: z.infer<(typeof channelSecretsSchemas)[K]> };

/** An outbound HTTP(S) proxy (`http://[user:pass@]host:port`), for networks that reach the robots only through one. */
const proxyUrlSchema = z.url({ protocol: /^https?$/, error: 'must be an http(s) proxy URL' }).max(500).nullable();

const common = {
  name: z.string().trim().min(1).max(100),
  enabled: z.boolean().default(true),
  proxyUrl: proxyUrlSchema.default(null),
};

/** `POST /channels`: one variant per kind. */
export const channelCreateSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('wecom'), ...common, settings: channelSettingsSchemas.wecom.default({ msgtype: 'text', mentionedMobiles: [] }), secrets: channelSecretsSchemas.wecom }),
  z.strictObject({ kind: z.literal('dingtalk'), ...common, settings: channelSettingsSchemas.dingtalk.default({ msgtype: 'text', keyword: null, atMobiles: [] }), secrets: channelSecretsSchemas.dingtalk }),
  z.strictObject({ kind: z.literal('feishu'), ...common, settings: channelSettingsSchemas.feishu.default({ keyword: null }), secrets: channelSecretsSchemas.feishu }),
  z.strictObject({ kind: z.literal('email'), ...common, settings: channelSettingsSchemas.email, secrets: channelSecretsSchemas.email.default({}) }),
  z.strictObject({ kind: z.literal('sms'), ...common, settings: channelSettingsSchemas.sms, secrets: channelSecretsSchemas.sms.default({}) }),
  z.strictObject({ kind: z.literal('webhook'), ...common, settings: channelSettingsSchemas.webhook, secrets: channelSecretsSchemas.webhook }),
]);
export type ChannelCreate = z.infer<typeof channelCreateSchema>;

/**
 * `PATCH /channels/:id`: the kind never changes. `settings` replaces the settings (validated against the
 * channel's kind); `secrets` changes only the fields it names (null clears an optional one).
 */
export const channelPatchSchema = z.strictObject({
  name: common.name.optional(),
  enabled: z.boolean().optional(),
  proxyUrl: proxyUrlSchema.optional(),
  settings: z.record(z.string(), z.unknown()).optional(),
  secrets: z.record(z.string(), z.string().nullable()).optional(),
  version: z.number().int().min(1).optional(),
});
export type ChannelPatch = z.infer<typeof channelPatchSchema>;

export const channelHealthSchema = z.object({
  /** false after a permanent failure (bad keyword, signature, token …) until the next success. */
  healthy: z.boolean(),
  lastSuccessAt: z.string().nullable(),
  lastFailureAt: z.string().nullable(),
  lastError: z.string().nullable(),
  consecutiveFailures: z.number().int(),
});
export type ChannelHealth = z.infer<typeof channelHealthSchema>;

export const channelSchema = z.object({
  id: z.string(),
  name: z.string(),
  kind: channelKindSchema,
  enabled: z.boolean(),
  /** The proxy without its credentials. */
  proxyUrl: z.string().nullable(),
  settings: z.record(z.string(), z.unknown()),
  /** Where messages go, without secrets (a robot's origin, a webhook's URL, the SMTP host). */
  target: z.string(),
  hasSecret: z.boolean(),
  /** The secret fields that are set (their values are never returned). */
  secretFields: z.array(z.string()),
  health: channelHealthSchema,
  /** Outbox rows of this channel waiting to be sent, and dead letters. */
  queue: z.object({ pending: z.number().int(), dead: z.number().int(), failed: z.number().int() }),
  version: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type Channel = z.infer<typeof channelSchema>;
export const channelListSchema = z.object({ items: z.array(channelSchema) });

export const deliveryOutcomes = ['delivered', 'retry', 'failed'] as const;
export const deliveryOutcomeSchema = z.enum(deliveryOutcomes);
export type DeliveryOutcomeKind = z.infer<typeof deliveryOutcomeSchema>;

/** `POST /channels/:id/test`. */
export const channelTestResultSchema = z.object({
  outcome: deliveryOutcomeSchema,
  /** What the receiver answered (HTTP status, business code), or why nothing was sent. */
  detail: z.string(),
  retryAfterMs: z.number().int().nullable(),
  health: channelHealthSchema,
});
export type ChannelTestResult = z.infer<typeof channelTestResultSchema>;

/**
 * Lifecycle of one outbox row: pending → sending (leased) → delivered | failed (permanent) | dead (gave up
 * after ALERTS_DEAD_AFTER_* ) | merged (sent inside a digest row, whose outcome it then takes).
 */
export const deliveryStates = ['pending', 'sending', 'delivered', 'failed', 'dead', 'merged'] as const;
export const deliveryStateSchema = z.enum(deliveryStates);
export type DeliveryState = z.infer<typeof deliveryStateSchema>;

export const deliverySchema = z.object({
  key: z.string(),
  incidentId: z.string().nullable(),
  revision: z.number().int().nullable(),
  channelId: z.string(),
  receiver: z.string().nullable(),
  /** A digest row carries the keys of the rows it merged. */
  digestOf: z.number().int(),
  state: deliveryStateSchema,
  attempts: z.number().int(),
  nextAttemptAt: z.string().nullable(),
  lastError: z.string().nullable(),
  deliveredAt: z.string().nullable(),
  mergedInto: z.string().nullable(),
  title: z.string(),
  createdAt: z.string(),
});
export type Delivery = z.infer<typeof deliverySchema>;
export const deliveryListSchema = z.object({ items: z.array(deliverySchema) });
export const deliveryQuerySchema = z.strictObject({
  state: deliveryStateSchema.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
