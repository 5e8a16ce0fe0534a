import crypto from 'node:crypto';
import { captureServer, type Captured, type CaptureServer } from './receivers';

/**
 * Capture servers that behave like the Chinese IM robots do, limits included, so a test sees what the real
 * robot would have answered: a WeCom group robot (45009 "api freq out of limit" past 20 messages in any
 * 60 s; 40058 when `text.content` passes 2,048 bytes or `markdown.content` 4,096) and a DingTalk custom
 * robot (signature and keyword checked → 310000; past 20 messages a minute → 130101 and the robot stays
 * locked for 10 minutes; a message over 4,096 bytes refused). The checks are written here from the robots'
 * documentation, independently of the server's own code.
 */

export type RobotKind = 'wecom' | 'dingtalk';

export interface RobotReply {
  at: number;
  errcode: number;
  errmsg: string;
  /** UTF-8 bytes of the message content. */
  bytes: number;
  content: string;
}

export interface Robot extends CaptureServer {
  kind: RobotKind;
  /** Every answer given, in order (requests[i] got replies[i]). */
  replies: RobotReply[];
  /** Where a channel of this kind posts (the access token in the query, as the robots issue it). */
  webhookUrl: string;
}

const PER_MINUTE = 20;
const WINDOW_MS = 60_000;
const DINGTALK_LOCK_MS = 10 * 60_000;

const bytes = (s: string): number => Buffer.byteLength(s, 'utf8');

/** The text a robot would show: WeCom text/markdown content, DingTalk text content or markdown text. */
export function robotContent(req: Captured): string {
  const j = req.json as Record<string, { content?: unknown; text?: unknown } | undefined> | undefined;
  const v = j?.text?.content ?? j?.markdown?.content ?? j?.markdown?.text;
  return typeof v === 'string' ? v : '';
}

export async function robot(kind: RobotKind, opts: { clock: () => number; secret?: string; keyword?: string }): Promise<Robot> {
  const server = (await captureServer({ clock: opts.clock })) as Robot;
  server.kind = kind;
  server.replies = [];
  server.webhookUrl = kind === 'wecom' ? `${server.url}/cgi-bin/webhook/send?key=robot-key` : `${server.url}/robot/send?access_token=robot-token`;
  let lockedUntil = 0;
  const answer = (req: Captured): { errcode: number; errmsg: string } => {
    const content = robotContent(req);
    const recent = server.requests.filter((r) => r.at > req.at - WINDOW_MS && r.at <= req.at).length;
    if (kind === 'wecom') {
      const msgtype = (req.json as { msgtype?: string } | undefined)?.msgtype;
      const max = msgtype === 'markdown' ? 4096 : 2048;
      if (recent > PER_MINUTE) return { errcode: 45009, errmsg: 'api freq out of limit' };
      if (bytes(content) > max) return { errcode: 40058, errmsg: `${msgtype ?? 'text'}.content exceed max length ${max}` };
      return { errcode: 0, errmsg: 'ok' };
    }
    if (req.at < lockedUntil) return { errcode: 130101, errmsg: 'send too fast, exceed 20 times per minute' };
    if (recent > PER_MINUTE) {
      lockedUntil = req.at + DINGTALK_LOCK_MS;
      return { errcode: 130101, errmsg: 'send too fast, exceed 20 times per minute' };
    }
    if (opts.secret) {
      const u = new URL(req.url, server.url);
      const ts = u.searchParams.get('timestamp') ?? '';
      const want = crypto.createHmac('sha256', opts.secret).update(`${ts}\n${opts.secret}`).digest('base64');
      if (u.searchParams.get('sign') !== want || Math.abs(Number(ts) - req.at) > 3_600_000) return { errcode: 310000, errmsg: 'sign not match' };
    }
    if (opts.keyword && !content.includes(opts.keyword)) return { errcode: 310000, errmsg: 'keywords not in content' };
    if (bytes(content) > 4096) return { errcode: 460101, errmsg: 'message too long' };
    return { errcode: 0, errmsg: 'ok' };
  };
  server.reply = (req) => {
    const a = answer(req);
    const content = robotContent(req);
    server.replies.push({ at: req.at, ...a, bytes: bytes(content), content });
    return { body: a };
  };
  return server;
}

/** The most sends a robot got in any rolling 60 s (every window ending at a send). */
export function busiestMinute(requests: readonly Captured[]): number {
  let most = 0;
  for (const r of requests) most = Math.max(most, requests.filter((o) => o.at > r.at - WINDOW_MS && o.at <= r.at).length);
  return most;
}

/**
 * What a message (or digest) a robot received speaks for: a single message's `点位：N 个` line, or a digest's
 * `合并 M 条通知（告警 a 条，恢复 b 条），涉及点位 P 个` first line.
 */
export function messageTotals(content: string): { messages: number; firing: number; resolved: number; points: number; digest: boolean } {
  const d = /合并 (\d+) 条通知（告警 (\d+) 条，恢复 (\d+) 条），涉及点位 (\d+) 个/.exec(content);
  if (d) return { messages: Number(d[1]), firing: Number(d[2]), resolved: Number(d[3]), points: Number(d[4]), digest: true };
  const p = /点位：(\d+) 个/.exec(content);
  if (!p) throw new Error(`neither a message nor a digest: ${content.slice(0, 200)}`);
  const resolved = content.includes('【恢复】');
  return { messages: 1, firing: resolved ? 0 : 1, resolved: resolved ? 1 : 0, points: Number(p[1]), digest: false };
}
