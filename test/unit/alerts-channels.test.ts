import crypto from 'node:crypto';
import { expect } from 'chai';
import { classifyDingtalk, dingtalkSign, dingtalkUrl } from '../../server/src/alerts/channels/dingtalk';
import { classifyFeishu, feishuSign } from '../../server/src/alerts/channels/feishu';
import { fillTemplate } from '../../server/src/alerts/channels/sms';
import { webhookSignature } from '../../server/src/alerts/channels/webhook';
import { classifyWecom, WECOM_MAX_BYTES } from '../../server/src/alerts/channels/wecom';
import { SlidingWindows } from '../../server/src/alerts/rate-limit';
import { digestTotals, renderDigest, renderMessage, truncateUtf8, TRUNCATION_MARKER } from '../../server/src/alerts/render';
import { SecretBox } from '../../server/src/alerts/secrets';
import type { AlertMessage } from '../../server/src/contracts/alerts';

const bytes = (s: string): number => Buffer.byteLength(s, 'utf8');

function message(points: number, state: AlertMessage['state'] = 'firing'): AlertMessage {
  return {
    title: `光明社区 ${points} 个点位离线`,
    state,
    points: Array.from({ length: points }, (_, i) => ({
      name: `铁东区站前街道光明社区${i + 1}号路口球机`,
      code: `2103020000132000${String(i).padStart(4, '0')}`,
      regionPath: ['铁东区', '站前街道', '光明社区'],
      maintainer: '鞍山市某某安防工程有限公司',
      since: '2026-12-02T06:03:00Z',
    })),
    suppressed: 64,
    link: 'https://vigil.example.gov.cn/incidents/1',
    at: '2026-12-02T06:03:30Z',
  };
}

describe('alerts: signatures', () => {
  it('when DingTalk signs ts 1577262236757 with SECtestsecret0123456789, then the sign is the published vector byte for byte', () => {
    expect(dingtalkSign('SECtestsecret0123456789', 1577262236757)).to.equal('5jmRSWGEhRAxSqZaxx9WD9tezoENiM3xY+YbTiCnqgc=');
    const url = new URL(dingtalkUrl('https://oapi.dingtalk.com/robot/send?access_token=abc', 'SECtestsecret0123456789', 1577262236757));
    expect(url.search).to.equal('?access_token=abc&timestamp=1577262236757&sign=5jmRSWGEhRAxSqZaxx9WD9tezoENiM3xY%2BYbTiCnqgc%3D');
  });

  it('when Feishu signs ts 1599360473 with testsecret, then the sign is the published vector byte for byte', () => {
    expect(feishuSign('testsecret', 1599360473)).to.equal('363UeKLKin0EeG+hrOQd23TNUSH+orqAFf6mWFdhcD4=');
  });

  it('when a webhook body is signed, then HMAC-SHA256(secret, timestamp + "." + body) in hex verifies it', () => {
    const body = '{"a":"中文"}';
    const expected = crypto.createHmac('sha256', 'whsec-0123456789abcdef').update(`1700000000.${body}`).digest('hex');
    expect(webhookSignature('whsec-0123456789abcdef', 1700000000, body)).to.equal(`sha256=${expected}`);
  });
});

describe('alerts: robots business codes', () => {
  it('when the robots answer their codes, then each maps to delivered / retry after the window / permanent', () => {
    expect(classifyDingtalk({ errcode: 0 }).outcome).to.equal('delivered');
    expect(classifyDingtalk({ errcode: 310000, errmsg: 'keywords not in content' }).outcome).to.equal('failed');
    expect(classifyDingtalk({ errcode: 130101 })).to.deep.include({ outcome: 'retry', retryAfterMs: 60_000 });
    expect(classifyWecom({ errcode: 0 }).outcome).to.equal('delivered');
    expect(classifyWecom({ errcode: 45009 })).to.deep.include({ outcome: 'retry', retryAfterMs: 60_000 });
    expect(classifyWecom({ errcode: 93000 }).outcome).to.equal('failed');
    expect(classifyWecom(undefined).outcome).to.equal('failed');
    for (const code of [19021, 19022, 19024]) expect(classifyFeishu({ code }).outcome).to.equal('failed');
    expect(classifyFeishu({ code: 11232 }).outcome).to.equal('retry');
    expect(classifyFeishu({ StatusCode: 0, StatusMessage: 'success' }).outcome).to.equal('delivered');
  });
});

describe('alerts: rendering within byte limits', () => {
  it('when a string is cut, then it is cut on a UTF-8 character boundary and ends with the marker', () => {
    const s = '离线'.repeat(1000);
    for (const max of [50, 51, 52, 53, 2048]) {
      const cut = truncateUtf8(s, max);
      expect(bytes(cut)).to.be.at.most(max);
      expect(cut.endsWith(TRUNCATION_MARKER)).to.equal(true);
      expect(cut).to.not.include('\uFFFD');
    }
    expect(truncateUtf8('short', 100)).to.equal('short');
  });

  it('when an incident names 500 points, then the WeCom text stays within 2,048 bytes and says how many were left out', () => {
    const m = message(500);
    const text = renderMessage(m, { format: 'text', maxBytes: WECOM_MAX_BYTES.text, timeZone: 'Asia/Shanghai' });
    expect(bytes(text)).to.be.at.most(2048);
    expect(text).to.match(/^【告警】光明社区 500 个点位离线/);
    expect(text).to.include('上级设备离线抑制 64 个');
    expect(text).to.include('2026-12-02 14:03'); // 06:03 UTC in Asia/Shanghai
    const listed = (text.match(/^\d+\. /gm) ?? []).length;
    expect(text).to.include(`…另有 ${500 - listed} 个点位未列出`);
    expect(text).to.include('详情：https://vigil.example.gov.cn/incidents/1');
    const md = renderMessage(m, { format: 'markdown', maxBytes: WECOM_MAX_BYTES.markdown, timeZone: 'Asia/Shanghai' });
    expect(bytes(md)).to.be.at.most(4096);
    expect((md.match(/^- \d+\. /gm) ?? []).length).to.be.greaterThan(listed);
  });

  it('when a robot has a keyword, then the text contains it', () => {
    const text = renderMessage(message(1), { format: 'text', maxBytes: 2048, timeZone: 'Asia/Shanghai', keyword: '视频告警' });
    expect(text.startsWith('视频告警 ')).to.equal(true);
  });

  it('when 300 messages are merged, then the digest states totals that add up and stays within the limit', () => {
    const ms = Array.from({ length: 300 }, (_, i) => message(1 + (i % 3), i % 4 === 0 ? 'resolved' : 'firing'));
    const t = digestTotals(ms);
    const text = renderDigest(ms, { format: 'text', maxBytes: 2048, timeZone: 'Asia/Shanghai' });
    expect(bytes(text)).to.be.at.most(2048);
    expect(text).to.include(`合并 300 条通知（告警 ${t.firing} 条，恢复 ${t.resolved} 条），涉及点位 ${t.points} 个`);
    expect(t.firing + t.resolved).to.equal(300);
    const listed = (text.match(/^\d+\. /gm) ?? []).length;
    expect(text).to.include(`…另有 ${300 - listed} 条通知未列出`);
  });
});

describe('alerts: sliding windows', () => {
  it('when 18 sends fill a 60 s window, then the 19th waits until the first leaves the window, not the next aligned minute', () => {
    const w = new SlidingWindows();
    const limits = [{ max: 18, windowMs: 60_000 }];
    for (let i = 0; i < 18; i++) w.record('c', 1000 + i * 1000);
    expect(w.available('c', limits, 20_000)).to.equal(0);
    expect(w.nextFreeAt('c', limits, 20_000)).to.equal(61_000);
    expect(w.available('c', limits, 61_000)).to.equal(1);
    w.block('c', 100_000);
    expect(w.available('c', limits, 99_000)).to.equal(0);
    expect(w.available('other', limits, 99_000)).to.equal(18);
  });
});

describe('alerts: secrets at rest', () => {
  it('when a secret is sealed, then it opens only with the same key and the same channel id', () => {
    const box = SecretBox.fromKey(crypto.randomBytes(32));
    const sealed = box.seal('SECtopsecret', 'aaaaaaaaaaaaaaaaaaaaaaaa');
    expect(sealed).to.not.include('SECtopsecret');
    expect(box.open(sealed, 'aaaaaaaaaaaaaaaaaaaaaaaa')).to.equal('SECtopsecret');
    expect(() => box.open(sealed, 'bbbbbbbbbbbbbbbbbbbbbbbb')).to.throw();
    expect(() => SecretBox.fromKey(crypto.randomBytes(32)).open(sealed, 'aaaaaaaaaaaaaaaaaaaaaaaa')).to.throw();
  });
});

describe('alerts: SMS template', () => {
  it('when placeholders are filled, then each value is escaped for where it lands', () => {
    const v = { text: '点位"离线"&x', phones: '13800000000,13900000000' };
    expect(fillTemplate('{"to":"{{phones}}","msg":"{{text}}"}', v, 'application/json')).to.equal('{"to":"13800000000,13900000000","msg":"点位\\"离线\\"&x"}');
    expect(JSON.parse(fillTemplate('{"msg":"{{text}}"}', v, 'application/json'))).to.deep.equal({ msg: v.text });
    expect(fillTemplate('to={{phones}}&msg={{ text }}', v, 'application/x-www-form-urlencoded')).to.equal(`to=13800000000%2C13900000000&msg=${encodeURIComponent(v.text)}`);
  });
});
