import zhCN from 'zod/v4/locales/zh-CN.js';
import type { FieldIssue } from '@contracts/errors';
import { alertPolicyInputSchema, type AlertPolicyInput, type AlertPolicyView, type Receiver } from '@contracts/incidents';

/**
 * The alert-policy editor's logic outside the view: the contract's defaults for a new policy, the contract's own
 * check before a request, and where each refused field's message goes in the form.
 */

/** What the receiver pickers offer: the channels, users and maintainer organisations the caller may name. */
export interface ReceiverChoices {
  channels: Array<{ id: string; label: string }>;
  users: Array<{ id: string; label: string }>;
  orgs: string[];
}

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

/** A new policy as the contract fills it in (groupWait 30 s, groupInterval 300 s, repeatInterval 4 h, group by upstream device). */
export function newPolicyInput(): AlertPolicyInput {
  return { ...clone(alertPolicyInputSchema.parse({ name: '-' })), name: '' };
}

/** The editable part of a stored policy (a deep copy: the form never mutates the list). */
export function inputOf(p: AlertPolicyView): AlertPolicyInput {
  const { name, enabled, priority, match, groupBy, groupWaitSec, groupIntervalSec, repeatIntervalSec, receivers, escalation } = p;
  return clone({ name, enabled, priority, match, groupBy, groupWaitSec, groupIntervalSec, repeatIntervalSec, receivers, escalation });
}

/**
 * The shared zod contract run in the browser: the same fields refused as the server would refuse them (paths
 * joined with dots, as the server's error details name them), worded in the console's language.
 */
export function checkPolicy(input: unknown, locale: string): { ok: true; value: AlertPolicyInput } | { ok: false; issues: FieldIssue[] } {
  const r = alertPolicyInputSchema.safeParse(input, locale === 'zh-CN' ? { error: zhCN().localeError } : undefined);
  if (r.success) return { ok: true, value: r.data };
  return { ok: false, issues: r.error.issues.map((i) => ({ field: i.path.length ? i.path.join('.') : 'body', message: i.message })) };
}

/**
 * Assigns each issue to the most specific form field that shows it (`match.types.2` → `match.types`,
 * `escalation.steps.0.afterSec` → that step's input); what no field claims is returned as `rest`.
 */
export function placeIssues(issues: FieldIssue[], fields: readonly string[]): { at: Record<string, string[]>; rest: FieldIssue[] } {
  const at: Record<string, string[]> = {};
  const rest: FieldIssue[] = [];
  for (const issue of issues) {
    let best: string | null = null;
    for (const f of fields) {
      const claims = issue.field === f || (issue.field.startsWith(f + '.') && /^\d+(\.|$)/.test(issue.field.slice(f.length + 1)));
      if (claims && (best === null || f.length > best.length)) best = f;
    }
    if (best === null) rest.push(issue);
    else (at[best] ??= []).push(issue.message);
  }
  return { at, rest };
}

/** A receiver as the console names it (the channel's or user's name when the caller may list them, else the id). */
export function receiverLabel(r: Receiver, choices: ReceiverChoices, kindName: (kind: Receiver['kind']) => string): string {
  switch (r.kind) {
    case 'channel':
      return `${kindName('channel')}: ${choices.channels.find((c) => c.id === r.id)?.label ?? r.id}`;
    case 'user':
      return `${kindName('user')}: ${choices.users.find((u) => u.id === r.id)?.label ?? r.id}`;
    case 'org':
      return `${kindName('org')}: ${r.org}`;
  }
}
