import { expect } from 'chai';
import type { AssessmentRule, AssessmentStatus } from '../../server/src/contracts/assessment';
import { loadConfig } from '../../server/src/config';
import { RegionTree, type RegionNode } from '../../server/src/regions/tree';
import { alertMessageSchema } from '../../server/src/contracts/alerts';
import { digestTotals, renderDigest, renderMessage, subjectOf } from '../../server/src/alerts/render';
import { assess, deductionOf, gradeOf, type AssessedPoint } from '../../server/src/reports/assessment';
import { reportMessage } from '../../server/src/reports/monthly-report';

const defaultRule: AssessmentRule = { fullScore: 100, deductions: [{ overHours: 8, points: 1 }], passScore: 90, fairScore: 80 };
const JUNE = 2_592_000;
const H8 = 8 * 3600;

const node = (id: string, name: string, tier: RegionNode['tier'], parentId: string | null): RegionNode => ({ id, name, tier, parentId, code: null, households: null });
const tree = new RegionTree([node('D', '铁东区', 'district', null), node('S1', '站前街道', 'street', 'D'), node('S2', '新兴街道', 'street', 'D'), node('C1', '光明社区', 'community', 'S1')]);
const status: AssessmentStatus = { state: 'open', closesAt: '2026-07-01T16:00:00.000Z', version: null, versions: [] };

let serial = 0;
function point(org: string, regionId: string, downSec: number, extra: Partial<AssessedPoint> = {}): AssessedPoint {
  serial += 1;
  const code = `21030200001320${String(serial).padStart(6, '0')}`;
  return { id: `p${String(serial).padStart(6, '0')}`, code, name: `点${serial}`, regionId, sharing: 'all', org, sec: [JUNE - downSec, downSec, 0, 0, 0, 0], pending: 0, ...extra };
}

function run(points: AssessedPoint[], rule = defaultRule, cameraRows = 50) {
  return assess({ month: 202606, from: Date.UTC(2026, 4, 31, 16), to: Date.UTC(2026, 5, 30, 16), timeZone: 'Asia/Shanghai', tree, region: tree.get('D') ?? null, points, rule, status, cameraRows });
}

describe('monthly contractor assessment (考核表): the one computation', () => {
  it('when a contractor has 1,000 points of which 37 exceed 8 h of faults, then it scores 63.0 under the default rule (−1 each) and fails', () => {
    const points: AssessedPoint[] = [];
    for (let i = 0; i < 37; i++) points.push(point('甲维保公司', 'C1', H8 + 1 + i * 600));
    // exactly 8 h is not more than 8 h; a few minutes or nothing neither
    for (let i = 0; i < 20; i++) points.push(point('甲维保公司', 'S2', H8));
    for (let i = 0; i < 943; i++) points.push(point('甲维保公司', i % 2 ? 'C1' : 'S2', i % 7 === 0 ? 1800 : 0));
    const { assessment: a } = run(points);
    expect(a.contractors).to.have.length(1);
    expect(a.contractors[0]).to.include({ rank: 1, org: '甲维保公司', points: 1000, faultyCameras: 37, deduction: 37, score: 63, grade: 'fail' });
    expect(a.contractors[0].score.toFixed(1)).to.equal('63.0');
    expect(a.summary).to.include({ points: 1000, faultyCameras: 37, contractors: 1 });
    expect(a.summary.grades).to.deep.equal({ pass: 0, fair: 0, fail: 1 });
  });

  it('when the rule has tiers and thresholds, then the highest tier exceeded applies, scores stop at 0, and grades follow the thresholds', () => {
    const tiers: AssessmentRule = { ...defaultRule, deductions: [{ overHours: 8, points: 1 }, { overHours: 24, points: 2.5 }] };
    expect(deductionOf(H8, tiers)).to.equal(0);
    expect(deductionOf(H8 + 1, tiers)).to.equal(1);
    expect(deductionOf(24 * 3600 + 1, tiers)).to.equal(2.5);
    const many = Array.from({ length: 60 }, () => point('乙公司', 'S1', 30 * 3600));
    expect(run(many, tiers).assessment.contractors[0]).to.include({ deduction: 150, score: 0, grade: 'fail' });
    expect([gradeOf(90, defaultRule), gradeOf(89.9, defaultRule), gradeOf(80, defaultRule), gradeOf(79.9, defaultRule)]).to.deep.equal(['pass', 'fair', 'fair', 'fail']);
  });

  it('when contractors tie, then they share a rank, the next rank skips, and points without an organisation are listed unranked last', () => {
    const points = [
      point('丙', 'S1', 0),
      point('丁', 'S2', 0),
      point('甲', 'S1', H8 + 1),
      point('乙', 'C1', 10 * 3600),
      point('', 'S2', 20 * 3600),
    ];
    const a = run(points).assessment;
    // 丙 and 丁: 100 and rate 100 → rank 1 both; 甲 (99, 8 h+1 s down) before 乙 (99, 10 h down: lower rate)
    expect(a.contractors.map((c) => [c.org, c.rank, c.score])).to.deep.equal([
      ['丙', 1, 100],
      ['丁', 1, 100],
      ['甲', 3, 99],
      ['乙', 4, 99],
      ['', null, 99],
    ]);
    expect(a.summary.contractors).to.equal(4);
    expect(a.summary.grades).to.deep.equal({ pass: 4, fair: 0, fail: 0 });
  });

  it('when regions are ranked, then each child of the assessed node pools its points’ seconds and the best rate ranks first', () => {
    const points = [point('甲', 'C1', 3600), point('甲', 'S1', 0), point('甲', 'S2', H8 + 1), point('甲', 'D', 0)];
    const a = run(points).assessment;
    expect(a.regions.map((r) => [r.id, r.rank, r.points, r.faultyCameras, r.downSec])).to.deep.equal([
      ['D', 1, 1, 0, 0],
      ['S1', 2, 2, 0, 3600],
      ['S2', 3, 1, 1, H8 + 1],
    ]);
    // Σup ÷ Σ(up + down) over S1's two points, 4 decimals
    expect(a.regions[1].rate).to.equal(Math.round(((2 * JUNE - 3600) / (2 * JUNE)) * 1e6) / 1e4);
    expect(a.regions.find((r) => r.id === 'D')?.tier).to.equal('district');
  });

  it('when the per-camera sheet is listed, then it holds every point, most fault time first (ties by code), and the JSON lists its first rows', () => {
    const points = [point('甲', 'C1', 100), point('乙', 'S2', 5000), point('甲', 'S1', 100), point('丙', 'S2', 0)];
    const sheet = run(points, defaultRule, 2);
    const all = [...sheet.cameras()];
    expect(all.map((c) => c.faultSec)).to.deep.equal([5000, 100, 100, 0]);
    expect(all[1].code < all[2].code).to.equal(true);
    expect(all[0]).to.include({ org: '乙', region: '铁东区 / 新兴街道', faultHours: 1.39, deduction: 0 });
    expect(all.find((c) => c.org === '甲' && c.faultSec === 100 && c.region.endsWith('光明社区'))?.region).to.equal('铁东区 / 站前街道 / 光明社区');
    expect(sheet.assessment.cameras).to.deep.equal(all.slice(0, 2));
    expect(sheet.assessment.camerasTotal).to.equal(4);
  });

  it('when the configuration names deduction tiers and thresholds, then they are parsed, sorted and checked, naming the variable', () => {
    const c = loadConfig({ ASSESSMENT_DEDUCTIONS: '24:2,8:1', ASSESSMENT_PASS_SCORE: '95', ASSESSMENT_FAIR_SCORE: '85', REPORT_CLOSE_GRACE_HOURS: '48', REPORT_MONTHLY_CHANNELS: '值班邮箱, 运维群 ,值班邮箱' });
    expect(c.ASSESSMENT_DEDUCTIONS).to.deep.equal([{ overHours: 8, points: 1 }, { overHours: 24, points: 2 }]);
    expect([c.ASSESSMENT_PASS_SCORE, c.ASSESSMENT_FAIR_SCORE, c.REPORT_CLOSE_GRACE_HOURS]).to.deep.equal([95, 85, 48]);
    expect(c.REPORT_MONTHLY_CHANNELS).to.deep.equal(['值班邮箱', '运维群']);
    expect(loadConfig({}).ASSESSMENT_DEDUCTIONS).to.deep.equal([{ overHours: 8, points: 1 }]);
    expect(() => loadConfig({ ASSESSMENT_DEDUCTIONS: '8h:1' })).to.throw(/ASSESSMENT_DEDUCTIONS/);
    expect(() => loadConfig({ ASSESSMENT_PASS_SCORE: '70' })).to.throw(/ASSESSMENT_PASS_SCORE/);
    expect(() => loadConfig({ REPORT_CLOSE_CRON: 'monthly' })).to.throw(/REPORT_CLOSE_CRON/);
  });
});

describe('the monthly report message (delivered through the alert channels)', () => {
  const a = () => {
    const points = [...Array.from({ length: 37 }, () => point('甲维保公司', 'C1', H8 + 60)), ...Array.from({ length: 963 }, () => point('甲维保公司', 'S2', 0)), point('乙维保公司', 'S1', 0)];
    return run(points).assessment;
  };

  it('when a closed month is rendered for a robot and for e-mail, then it is a 【报表】 with the scores and the console link, within the byte limit', () => {
    const assessment = { ...a(), status: { state: 'closed' as const, closesAt: '2026-07-01T16:00:00.000Z', version: 1, versions: [] } };
    const m = alertMessageSchema.parse(reportMessage(assessment, 'http://vigil.example/assessment?month=2026-06', '2026-07-01T16:20:00.000Z'));
    const text = renderMessage(m, { format: 'text', maxBytes: 2048, timeZone: 'Asia/Shanghai' });
    expect(text.split('\n')[0]).to.equal('【报表】2026年6月 维保考核表已关账');
    expect(text).to.include('点位 1001 个').and.include('故障超过 8 小时的点位：37 个');
    expect(text).to.include('第 1 名 乙维保公司：100.0 分（合格）').and.include('第 2 名 甲维保公司：63.0 分（不合格）');
    expect(text.endsWith('报表：http://vigil.example/assessment?month=2026-06')).to.equal(true);
    expect(text).to.not.include('状态：');
    const md = renderMessage(m, { format: 'markdown', maxBytes: 4096, timeZone: 'Asia/Shanghai', keyword: '视频' });
    // a markdown heading keeps its marks first (render.ts withKeyword), the robot's keyword right after them
    expect(md.startsWith('### 视频 【报表】'), md.slice(0, 40)).to.equal(true);
    expect(md).to.include('[查看报表](http://vigil.example/assessment?month=2026-06)');
    expect(subjectOf([m])).to.equal('【报表】2026年6月 维保考核表已关账');
    const v2 = alertMessageSchema.parse(reportMessage({ ...assessment, status: { ...assessment.status, version: 2 } }, null, '2026-08-01T00:00:00.000Z'));
    expect(v2.title).to.equal('2026年6月 维保考核表已重新签发（第 2 版）');
    expect(Buffer.byteLength(renderMessage(v2, { format: 'text', maxBytes: 120, timeZone: 'Asia/Shanghai' }))).to.be.at.most(120);
  });

  it('when a report is merged into a digest, then the totals still add up and name it as a report, not a recovery', () => {
    const report = alertMessageSchema.parse(reportMessage({ ...a(), status: { state: 'closed', closesAt: '2026-07-01T16:00:00.000Z', version: 1, versions: [] } }, null, '2026-07-01T16:20:00.000Z'));
    const alert = alertMessageSchema.parse({ title: '光明社区 1 号点位离线', state: 'firing', points: [], totalPoints: 3, at: '2026-07-01T16:00:00Z' });
    const t = digestTotals([report, alert]);
    expect(t).to.deep.equal({ messages: 2, firing: 1, resolved: 0, reports: 1, points: 3 });
    expect(renderDigest([report, alert], { format: 'text', maxBytes: 2048, timeZone: 'Asia/Shanghai' })).to.include('合并 2 条通知（告警 1 条，恢复 0 条，报表 1 条）');
  });
});
