import { expect } from 'chai';
import { renderDigest, renderMessage } from '../../server/src/alerts/render';
import type { AlertMessage } from '../../server/src/contracts/alerts';

const message: AlertMessage = {
  title: '光明社区 NVR 离线',
  state: 'firing',
  points: [{ name: '光明社区机房NVR', code: '21030200001180000001', regionPath: ['铁东区', '站前街道', '光明社区'], maintainer: '某安防公司', since: '2026-12-02T06:00:00Z' }],
  suppressed: 64,
  link: null,
  at: '2026-12-02T06:00:30Z',
};

describe('alerts: a robot keyword in markdown', () => {
  it('when a DingTalk/Feishu keyword is added to a markdown message, then the heading still starts the line (it renders as a heading) and holds the keyword', () => {
    const md = renderMessage(message, { format: 'markdown', maxBytes: 4096, timeZone: 'Asia/Shanghai', keyword: '视频告警' });
    const first = md.split('\n')[0];
    expect(first).to.equal('### 视频告警 【告警】光明社区 NVR 离线');
    const digest = renderDigest([message, { ...message, state: 'resolved' }], { format: 'markdown', maxBytes: 4096, timeZone: 'Asia/Shanghai', keyword: '视频告警' });
    expect(digest.split('\n')[0]).to.match(/^### 视频告警 【告警汇总】合并 2 条通知/);
  });

  it('when the keyword is added to a text message, then it leads the first line', () => {
    const text = renderMessage(message, { format: 'text', maxBytes: 2048, timeZone: 'Asia/Shanghai', keyword: '视频告警' });
    expect(text.split('\n')[0]).to.equal('视频告警 【告警】光明社区 NVR 离线');
  });
});
