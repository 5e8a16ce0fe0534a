import type { AlertMessageInput, AlertPoint as MessagePoint } from '../../contracts/alerts';
import type { Incident } from '../../contracts/incidents';
import type { RegionTree } from '../../regions/tree';
import type { OutboxEntry } from '../outbox';
import type { AlertPoint, Notice } from './engine';

/** Each notice kind's message title (Chinese first; the policy name follows). */
export const NOTICE_TITLES: Record<Notice['kind'], string> = {
  firing: '点位离线',
  update: '离线告警更新',
  reminder: '仍未恢复（提醒）',
  escalation: '未确认，升级通知',
  resolved: '已恢复',
};

/**
 * The engine's notices as outbox entries: one per (notice, channel receiver), the message neutral (each
 * channel renders it, Chinese first, within its byte limit). Receivers that are users or a maintainer
 * organisation are reached in the console (incident events and "my incidents"), not through a channel.
 */
export function outboxEntriesOf(
  notices: readonly Notice[],
  incidents: ReadonlyMap<string, Incident>,
  deps: { point(id: string): AlertPoint | undefined; tree: RegionTree; policyName(id: string): string; publicUrl: string | null },
): OutboxEntry[] {
  const out: OutboxEntry[] = [];
  for (const n of notices) {
    const channels = n.receivers.flatMap((r) => (r.kind === 'channel' ? [r.id] : []));
    if (channels.length === 0) continue;
    const inc = incidents.get(n.incidentId);
    const since = new Map((inc?.members ?? []).map((m) => [m.pointId, m.endedAt ?? m.since]));
    const describe = (id: string): MessagePoint => {
      const p = deps.point(id);
      const path = p ? [...deps.tree.pathOf(p.regionId), p.regionId].map((r) => deps.tree.get(r)?.name ?? '') : [];
      return { name: p?.name ?? id, code: p?.gbCode || null, regionPath: path.filter(Boolean).slice(0, 8), maintainer: p?.org || null, since: since.get(id) ?? new Date(n.at).toISOString() };
    };
    const speaking = [...n.firing, ...n.flapping];
    const resolved = n.kind === 'resolved' || speaking.length === 0;
    const named = resolved ? n.ended : speaking;
    const policy = inc ? deps.policyName(inc.policyId) : '';
    const message: AlertMessageInput = {
      title: `${NOTICE_TITLES[n.kind]}${policy ? `｜${policy}` : ''}${n.flapping.length ? `（${n.flapping.length} 个频繁抖动）` : ''}`,
      state: resolved ? 'resolved' : 'firing',
      points: named.map(describe),
      suppressed: n.suppressed,
      link: deps.publicUrl ? `${deps.publicUrl.replace(/\/$/, '')}/#/incidents/${n.incidentId}` : null,
      at: new Date(n.at).toISOString(),
    };
    for (const channelId of channels) out.push({ incidentId: n.incidentId, revision: n.revision, channelId, receiver: n.step, message });
  }
  return out;
}
