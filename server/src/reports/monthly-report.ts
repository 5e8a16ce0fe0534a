import cron, { type ScheduledTask } from 'node-cron';
import type { Principal } from '../contracts/access';
import { assessmentGradeLabels, type Assessment } from '../contracts/assessment';
import type { AlertMessageInput, Channel } from '../contracts/alerts';
import type { Logger } from '../lib/logger';
import { monthText, type AssessmentService } from './assessment-service';

/** What the scheduled report needs of alerts: the durable outbox and the channel list (by name). */
export interface ReportDelivery {
  enqueue(entries: Array<{ incidentId: string; revision: number; channelId: string; message: AlertMessageInput }>): Promise<Array<{ key: string; created: boolean }>>;
  channels(): Promise<Channel[]>;
}

export interface MonthlyReportOptions {
  service: AssessmentService;
  delivery: ReportDelivery;
  /** Channel names (REPORT_MONTHLY_CHANNELS); empty: the month is still closed on schedule, nothing is sent. */
  channelNames: readonly string[];
  /** When to look for a due month (REPORT_CLOSE_CRON), in REPORT_TZ. */
  cron: string;
  timeZone: string;
  /** The console's base URL (PUBLIC_URL, else the address the server listens on). */
  consoleUrl: () => string | null;
  logger: Logger;
}

/** The reader the scheduled report is computed for: the whole registry. */
const SYSTEM_READER: Principal = { kind: 'dev', userId: '000000000000000000000000', username: 'system', role: 'admin', scopeRegionId: null };

export interface MonthlyRun {
  month: string;
  version: number;
  closedNow: boolean;
  /** Outbox rows written by this run (0 when the same version was already queued: idempotency keys). */
  enqueued: number;
}

/** The message of one version of a month's assessment (Chinese first, as every alert message). */
export function reportMessage(a: Assessment, link: string | null, issuedAt: string): AlertMessageInput {
  const [y, m] = a.month.split('-').map(Number);
  const s = a.summary;
  const worst = a.contractors.filter((c) => c.rank !== null).at(-1);
  const lines = [
    `考核区域：${a.region?.name ?? '全部区域'}；点位 ${s.points} 个`,
    `故障超过 ${a.rule.deductions[0]?.overHours ?? 0} 小时的点位：${s.faultyCameras} 个；故障总时长 ${s.faultHours} 小时`,
    `在线率：${s.rate === null ? '—' : `${s.rate}%`}（时间加权，Σ在线秒 ÷ Σ（在线秒＋离线秒））`,
    `维保单位 ${s.contractors} 家：合格 ${s.grades.pass}，一般 ${s.grades.fair}，不合格 ${s.grades.fail}`,
    ...a.contractors.filter((c) => c.rank !== null).slice(0, 10).map((c) => `第 ${c.rank} 名 ${c.org}：${c.score.toFixed(1)} 分（${assessmentGradeLabels[c.grade]}），超时点位 ${c.faultyCameras} 个`),
    ...(worst && a.contractors.filter((c) => c.rank !== null).length > 10 ? [`末位 ${worst.org}：${worst.score.toFixed(1)} 分（${assessmentGradeLabels[worst.grade]}）`] : []),
  ];
  const version = a.status.version ?? 1;
  return {
    kind: 'report',
    title: `${y}年${m}月 维保考核表已${version > 1 ? `重新签发（第 ${version} 版）` : '关账'}`,
    state: 'resolved',
    points: [],
    summary: lines,
    link,
    at: issuedAt,
  };
}

/**
 * The scheduled monthly report: on REPORT_CLOSE_CRON (node-cron, in REPORT_TZ) and once at start (node-cron
 * does not replay runs missed while the process was down), the latest month whose grace period has passed is
 * closed if nobody has closed it, and its latest version is queued for each configured channel through the
 * alerts' durable outbox (at-least-once, retries, rate limits). The outbox key is (month, version, channel):
 * every later run queues nothing new, a re-issued version is delivered once at the next run.
 */
export class MonthlyReport {
  private task: ScheduledTask | null = null;
  private running: Promise<MonthlyRun> | null = null;

  constructor(private readonly o: MonthlyReportOptions) {}

  start(): void {
    this.task = cron.schedule(this.o.cron, () => void this.safeRun(), { name: 'monthly-report', noOverlap: true, timezone: this.o.timeZone });
    void this.safeRun();
  }

  async stop(): Promise<void> {
    await this.task?.destroy();
    this.task = null;
    await this.running?.catch(() => undefined);
  }

  private async safeRun(): Promise<void> {
    try {
      await this.runOnce();
    } catch (err) {
      this.o.logger.warn('monthly report run failed (retried at the next run)', { err });
    }
  }

  /** One run: close the due month when needed, queue its latest version for the configured channels. */
  runOnce(): Promise<MonthlyRun> {
    this.running ??= this.run().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async run(): Promise<MonthlyRun> {
    const { month, close, closedNow } = await this.o.service.closeDue();
    const text = monthText(month);
    const out: MonthlyRun = { month: text, version: close.version, closedNow, enqueued: 0 };
    if (this.o.channelNames.length === 0) return out;
    const channels = await this.o.delivery.channels();
    const ids: string[] = [];
    for (const name of this.o.channelNames) {
      const c = channels.find((x) => x.name === name);
      if (c) ids.push(c.id);
      else this.o.logger.warn('REPORT_MONTHLY_CHANNELS names a channel that does not exist', { channel: name });
    }
    if (ids.length === 0) return out;
    const { assessment } = await this.o.service.assessment(SYSTEM_READER, { month: text, version: close.version, cameras: 0 });
    const base = this.o.consoleUrl();
    const link = base ? `${base.replace(/\/$/, '')}/assessment?month=${text}` : null;
    const message = reportMessage(assessment, link, close.issuedAt.toISOString());
    const res = await this.o.delivery.enqueue(ids.map((channelId) => ({ incidentId: `report:assessment:${text}`, revision: close.version, channelId, message })));
    out.enqueued = res.filter((r) => r.created).length;
    if (out.enqueued) this.o.logger.info('monthly assessment queued for delivery', { month: text, version: close.version, channels: out.enqueued });
    return out;
  }
}
