import { ref, shallowRef } from 'vue';
import type { IncidentEvent, IncidentView } from '@contracts/incidents';
import { alarm } from './alerts';
import { board } from './live';

/** A new incident not yet looked at: the visible alarm (the audible one is `alarm()`). */
export interface IncidentAlarm {
  id: string;
  title: string;
  at: number;
}

/** A short name for an incident: its upstream device or first firing member, plus how many more. */
export function headline(inc: IncidentView): string {
  const lead = inc.members.find((m) => m.pointId === inc.groupKey) ?? inc.members.find((m) => m.state === 'firing' || m.state === 'flapping') ?? inc.members[0];
  if (!lead) return inc.policyName;
  const more = inc.members.length - 1;
  return more > 0 ? `${lead.name} +${more}` : lead.name;
}

/**
 * The incidents the server pushed over `/live` since sign-in (each as this user may see it), newest revision
 * kept. Pages merge it into what they fetched; a new incident rings the alarm under the one mute switch.
 */
class IncidentFeed {
  readonly latest = new Map<string, IncidentView>();
  readonly version = ref(0);
  readonly alarms = shallowRef<IncidentAlarm[]>([]);
  private unsubscribe: (() => void) | null = null;

  start(): void {
    this.unsubscribe ??= board.onIncident((event, inc) => this.apply(event, inc));
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.latest.clear();
    this.alarms.value = [];
    this.version.value++;
  }

  /** An incident as the server answered it (a push, or an action's answer); older revisions are ignored. */
  upsert(inc: IncidentView): void {
    const prev = this.latest.get(inc.id);
    if (prev && prev.revision > inc.revision) return;
    this.latest.set(inc.id, inc);
    if (inc.state === 'resolved' || inc.ackedAt) this.dismiss(inc.id);
    this.version.value++;
  }

  private apply(event: IncidentEvent, inc: IncidentView): void {
    const known = this.latest.has(inc.id);
    this.upsert(inc);
    if (event === 'incident:opened' && !known && inc.state === 'open') {
      alarm();
      this.alarms.value = [{ id: inc.id, title: headline(inc), at: Date.now() }, ...this.alarms.value].slice(0, 5);
    }
  }

  dismiss(id: string): void {
    if (this.alarms.value.some((a) => a.id === id)) this.alarms.value = this.alarms.value.filter((a) => a.id !== id);
  }
}

export const incidentFeed = new IncidentFeed();
