import type { AlertMessage } from '../contracts/alerts';

/**
 * Renders the neutral AlertMessage as Chinese text or markdown within a byte budget. Each channel names its
 * own budget (WeCom text 2,048 bytes, markdown 4,096 …); nothing here knows a channel's syntax beyond
 * "text" or "markdown".
 */

export type TextFormat = 'text' | 'markdown';

export interface RenderOptions {
  format: TextFormat;
  /** Most UTF-8 bytes of the result. */
  maxBytes: number;
  /** IANA zone in which times are shown (REPORT_TZ). */
  timeZone: string;
  /** A robot's keyword: the text must contain it, so it leads the first line when missing. */
  keyword?: string | null;
}

export const TRUNCATION_MARKER = '…（已截断）';

const utf8 = (s: string): number => Buffer.byteLength(s, 'utf8');

/** Cuts `s` to at most `maxBytes` UTF-8 bytes on a character boundary, ending with the marker when cut. */
export function truncateUtf8(s: string, maxBytes: number, marker = TRUNCATION_MARKER): string {
  if (utf8(s) <= maxBytes) return s;
  const room = maxBytes - utf8(marker);
  if (room <= 0) return cutBytes(marker, maxBytes);
  return cutBytes(s, room) + marker;
}

function cutBytes(s: string, maxBytes: number): string {
  const buf = Buffer.from(s, 'utf8');
  if (buf.length <= maxBytes) return s;
  let end = maxBytes;
  // step back over continuation bytes (10xxxxxx) so no character is split
  while (end > 0 && (buf[end] & 0xc0) === 0x80) end -= 1;
  return buf.subarray(0, end).toString('utf8');
}

const formats = new Map<string, Intl.DateTimeFormat>();

function timeOf(iso: string, timeZone: string): string {
  let f = formats.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('zh-CN', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hour12: false });
    formats.set(timeZone, f);
  }
  const parts = f.formatToParts(new Date(iso));
  const get = (t: string): string => parts.find((p) => p.type === t)?.value ?? '';
  return `${get('year')}-${get('month')}-${get('day')} ${get('hour')}:${get('minute')}`;
}

const stateWord = { firing: '告警', resolved: '恢复' } as const;

function heading(m: AlertMessage): string {
  return `【${m.kind === 'report' ? '报表' : stateWord[m.state]}】${m.title}`;
}

function pointTotal(m: AlertMessage): number {
  return m.totalPoints ?? m.points.length;
}

/**
 * Lines kept whole while they fit, in order; a count of what was left out (dropped for the budget plus
 * `extra` never listed) follows them. The result never exceeds maxBytes.
 */
function fit(head: string[], items: string[], tail: string[], maxBytes: number, extra: number, leftOut: (n: number) => string): string {
  const join = (ls: string[]): string => ls.join('\n');
  const kept: string[] = [];
  let used = utf8(join([...head, ...tail]));
  for (let i = 0; i < items.length; i++) {
    const rest = items.length - i - 1 + extra;
    const reserve = rest > 0 ? utf8(leftOut(rest)) + 1 : 0;
    const line = items[i];
    if (used + 1 + utf8(line) + reserve > maxBytes) break;
    kept.push(line);
    used += 1 + utf8(line);
  }
  const dropped = items.length - kept.length + extra;
  if (dropped > 0) kept.push(leftOut(dropped));
  return truncateUtf8(join([...head, ...kept, ...tail]), maxBytes);
}

function withKeyword(head: string[], keyword: string | null | undefined): string[] {
  if (!keyword || head.some((l) => l.includes(keyword))) return head;
  const first = head[0] ?? '';
  // a markdown heading keeps its marks first, or the robot shows "keyword ### …" as plain text
  const marks = /^#{1,6} /.exec(first)?.[0] ?? '';
  return [`${marks}${keyword} ${first.slice(marks.length)}`, ...head.slice(1)];
}

/** A scheduled report: heading, its summary lines as far as the budget allows, console link. */
function renderReport(m: AlertMessage, o: RenderOptions): string {
  const md = o.format === 'markdown';
  const head = withKeyword([md ? `### ${heading(m)}` : heading(m)], o.keyword);
  const items = (m.summary ?? []).map((l) => (md ? `> ${l}` : l));
  const tail = m.link ? [md ? `[查看报表](${m.link})` : `报表：${m.link}`] : [];
  return fit(head, items, tail, o.maxBytes, 0, (n) => `…另有 ${n} 行未列出`);
}

/** One message: heading, state, counts, one entry per point as far as the budget allows, console link. */
export function renderMessage(m: AlertMessage, o: RenderOptions): string {
  if (m.kind === 'report') return renderReport(m, o);
  const md = o.format === 'markdown';
  const total = pointTotal(m);
  const sinceWord = m.state === 'firing' ? '离线自' : '恢复于';
  const counts = `点位：${total} 个` + (m.suppressed > 0 ? `；上级设备离线抑制 ${m.suppressed} 个` : '');
  let head = [md ? `### ${heading(m)}` : heading(m), md ? `> 状态：**${m.state === 'firing' ? '离线' : '已恢复'}**` : `状态：${m.state === 'firing' ? '离线' : '已恢复'}`, md ? `> ${counts}` : counts];
  const items = m.points.map((p, i) => {
    const region = p.regionPath.length ? p.regionPath.join(' / ') : '—';
    const line = `${i + 1}. ${p.name}${p.code ? `（${p.code}）` : ''} ${region}；维护：${p.maintainer ?? '—'}；${sinceWord} ${timeOf(p.since, o.timeZone)}`;
    return md ? `- ${line}` : line;
  });
  const unlisted = Math.max(0, total - m.points.length);
  const tail = m.link ? [md ? `[查看详情](${m.link})` : `详情：${m.link}`] : [];
  head = withKeyword(head, o.keyword);
  return fit(head, items, tail, o.maxBytes, unlisted, (n) => `…另有 ${n} 个点位未列出`);
}

/** Totals of a digest, stated in its first line so a reader (and a test) can add them up. */
export interface DigestTotals {
  messages: number;
  firing: number;
  resolved: number;
  /** Scheduled reports (monthly assessment): neither firing nor resolved. */
  reports: number;
  points: number;
}

export function digestTotals(messages: readonly AlertMessage[]): DigestTotals {
  let firing = 0;
  let reports = 0;
  let points = 0;
  for (const m of messages) {
    if (m.kind === 'report') reports += 1;
    else if (m.state === 'firing') firing += 1;
    points += pointTotal(m);
  }
  return { messages: messages.length, firing, resolved: messages.length - firing - reports, reports, points };
}

/**
 * Several messages merged into one (a channel at its rate limit): the totals first, then one line per
 * message as far as the budget allows, then how many were not listed.
 */
export function renderDigest(messages: readonly AlertMessage[], o: RenderOptions): string {
  const md = o.format === 'markdown';
  const t = digestTotals(messages);
  const summary = `【告警汇总】合并 ${t.messages} 条通知（告警 ${t.firing} 条，恢复 ${t.resolved} 条${t.reports ? `，报表 ${t.reports} 条` : ''}），涉及点位 ${t.points} 个`;
  let head = [md ? `### ${summary}` : summary, md ? '> 发送频率已达机器人上限，以下通知合并发送' : '发送频率已达机器人上限，以下通知合并发送'];
  const items = messages.map((m, i) => {
    const line = `${i + 1}. ${heading(m)}：${pointTotal(m)} 个点位${m.suppressed > 0 ? `，抑制 ${m.suppressed} 个` : ''}`;
    return md ? `- ${line}` : line;
  });
  const link = messages.find((m) => m.link)?.link;
  const tail = link ? [md ? `[查看详情](${link})` : `详情：${link}`] : [];
  head = withKeyword(head, o.keyword);
  return fit(head, items, tail, o.maxBytes, 0, (n) => `…另有 ${n} 条通知未列出`);
}

/** A short subject line (e-mail, markdown titles). */
export function subjectOf(messages: readonly AlertMessage[]): string {
  if (messages.length === 1) return truncateUtf8(heading(messages[0]), 200);
  const t = digestTotals(messages);
  return `【告警汇总】${t.messages} 条通知，涉及点位 ${t.points} 个`;
}
