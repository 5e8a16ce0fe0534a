import { once } from 'node:events';
import type { Writable } from 'node:stream';
// exceljs' streaming reader decodes UTF-8 only with the fix in lib/exceljs.ts, which must load first
import '../lib/exceljs';
import ExcelJS from 'exceljs';
import { assessmentGradeLabels, type AssessmentCamera, type AssessmentRule } from '../contracts/assessment';
import type { RegionTier } from '../contracts/vocabulary';
import type { AssessmentSheet } from './assessment';

/**
 * The assessment as an XLSX workbook, streamed (exceljs' WorkbookWriter: a district of 300,000 points never
 * sits in memory as a workbook): sheets 汇总 (summary), 区域排名 (per-region ranking), 维保单位得分
 * (per-contractor score) and 点位故障时长 (per-camera fault hours). Every figure is copied from the one
 * AssessmentSheet the JSON answer is made of.
 *
 * Deterministic: the same sheet gives the same bytes. Document properties carry the given stamp (a closed
 * month's issue time), every zip entry is dated with it, and rows come in the sheet's fixed order.
 */

const tierNames: Readonly<Record<RegionTier, string>> = { district: '区', street: '街道', community: '社区', grid: '网格' };

/**
 * exceljs' stream writer dates each zip entry "now" (archiver's default), some of them inside its own
 * constructor. The base constructor sets `created` and then assigns `this.zip`; this accessor catches that
 * assignment and makes every entry of this workbook carry `created` instead.
 */
class DatedWorkbookWriter extends ExcelJS.stream.xlsx.WorkbookWriter {}
interface ZipLike {
  append(source: unknown, data: Record<string, unknown>): unknown;
}
Object.defineProperty(DatedWorkbookWriter.prototype, 'zip', {
  configurable: true,
  get(): undefined {
    return undefined;
  },
  set(this: { created: Date }, zip: ZipLike) {
    const date = this.created;
    const append = zip.append.bind(zip);
    zip.append = (source, data) => append(source, { ...data, date });
    Object.defineProperty(this, 'zip', { value: zip, writable: true, configurable: true, enumerable: true });
  },
});

function localTime(t: string | number, timeZone: string): string {
  const f = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  const p = Object.fromEntries(f.formatToParts(new Date(t)).map((x) => [x.type, x.value]));
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}`;
}

function ruleText(rule: AssessmentRule): string {
  const tiers = rule.deductions.map((d) => `月故障时长超过 ${d.overHours} 小时的点位每个扣 ${d.points} 分`);
  return `满分 ${rule.fullScore} 分；${tiers.join('；') || '不扣分'}（取所超过的最高档）；得分不低于 0`;
}

function gradeText(rule: AssessmentRule): string {
  return `≥ ${rule.passScore} 合格；${rule.fairScore}–${rule.passScore} 一般；< ${rule.fairScore} 不合格`;
}

const rateFmt = '0.0000';
const hoursFmt = '0.00';
const scoreFmt = '0.0';

type Cell = string | number | null;

/** Yields to the event loop (and waits for `out` to drain) every so many rows, so a large sheet streams instead of piling up. */
async function breathe(out: Writable): Promise<void> {
  if (out.writableNeedDrain) await once(out, 'drain');
  else await new Promise((resolve) => setImmediate(resolve));
}

export async function writeAssessmentXlsx(out: Writable, sheet: AssessmentSheet, stamp: Date): Promise<void> {
  const a = sheet.assessment;
  const wb = new DatedWorkbookWriter({ stream: out, useStyles: true, useSharedStrings: false, created: stamp, modified: stamp, creator: 'Vigil', lastModifiedBy: 'Vigil' } as Partial<ExcelJS.stream.xlsx.WorkbookStreamWriterOptions>);
  wb.created = stamp;
  wb.modified = stamp;
  wb.creator = 'Vigil';
  wb.lastModifiedBy = 'Vigil';

  const table = (name: string, columns: Array<{ header: string; width: number; fmt?: string }>): ExcelJS.Worksheet => {
    const ws = wb.addWorksheet(name, { views: [{ state: 'frozen', ySplit: 1 }] });
    ws.columns = columns.map((c) => ({ header: c.header, width: c.width, ...(c.fmt ? { style: { numFmt: c.fmt } } : {}) }));
    ws.getRow(1).font = { bold: true };
    ws.getRow(1).commit();
    return ws;
  };

  const status = a.status.state === 'closed' ? `已关账（第 ${a.status.version ?? ''} 版）` : `未关账（${localTime(a.status.closesAt, a.timeZone)} 关账，数据可能变化）`;
  const summary = table('汇总', [
    { header: '项目', width: 22 },
    { header: '内容', width: 60 },
  ]);
  const lines: Array<[string, Cell, string?]> = [
    ['考核月份', a.month],
    ['考核区域', a.region?.name ?? '全部区域'],
    ['统计区间', `${localTime(a.from, a.timeZone)} 至 ${localTime(a.to, a.timeZone)}（${a.timeZone}）`],
    ['状态', status],
    ['扣分规则', ruleText(a.rule)],
    ['等级', gradeText(a.rule)],
    ['点位总数', a.summary.points],
    ['故障超时点位数', a.summary.faultyCameras],
    ['故障总时长（小时）', a.summary.faultHours, hoursFmt],
    ['在线时长（秒）', a.summary.upSec],
    ['离线时长（秒）', a.summary.downSec],
    ['在线率（%）', a.summary.rate, rateFmt],
    ['维保单位数', a.summary.contractors],
    ['合格', a.summary.grades.pass],
    ['一般', a.summary.grades.fair],
    ['不合格', a.summary.grades.fail],
    ['计算方法', '故障时长＝当月确认离线（DOWN）时长；维护、未检测、未接入、停用时段及已批准的免责时段不计；在线率＝Σ在线秒 ÷ Σ（在线秒＋离线秒）'],
  ];
  for (const [label, value, fmt] of lines) {
    const row = summary.addRow([label, value]);
    row.getCell(1).font = { bold: true };
    if (fmt) row.getCell(2).numFmt = fmt;
    row.commit();
  }
  // a version's file names the versions up to itself only: it stays the same when later ones are issued
  const history = a.status.versions.filter((v) => a.status.version !== null && v.version <= a.status.version);
  if (history.length) {
    summary.addRow([]).commit();
    const head = summary.addRow(['版本', '签发时间', '签发人', '原因']);
    head.font = { bold: true };
    head.commit();
    for (const v of history) summary.addRow([v.version, localTime(v.issuedAt, a.timeZone), v.issuedBy ?? '系统（自动关账）', v.reason ?? '']).commit();
  }
  summary.commit();

  const regions = table('区域排名', [
    { header: '排名', width: 8 },
    { header: '区域', width: 24 },
    { header: '层级', width: 8 },
    { header: '点位数', width: 10 },
    { header: '故障超时点位数', width: 16 },
    { header: '故障时长（小时）', width: 16, fmt: hoursFmt },
    { header: '在线时长（秒）', width: 16 },
    { header: '离线时长（秒）', width: 16 },
    { header: '在线率（%）', width: 12, fmt: rateFmt },
  ]);
  for (const r of a.regions) regions.addRow([r.rank, r.name, tierNames[r.tier], r.points, r.faultyCameras, r.faultHours, r.upSec, r.downSec, r.rate]).commit();
  regions.commit();

  const contractors = table('维保单位得分', [
    { header: '排名', width: 8 },
    { header: '维保单位', width: 30 },
    { header: '点位数', width: 10 },
    { header: '故障超时点位数', width: 16 },
    { header: '故障时长（小时）', width: 16, fmt: hoursFmt },
    { header: '扣分', width: 8, fmt: scoreFmt },
    { header: '得分', width: 8, fmt: scoreFmt },
    { header: '等级', width: 10 },
    { header: '在线率（%）', width: 12, fmt: rateFmt },
  ]);
  for (const c of a.contractors) {
    contractors.addRow([c.rank, c.org || '（未填写维保单位）', c.points, c.faultyCameras, c.faultHours, c.deduction, c.score, assessmentGradeLabels[c.grade], c.rate]).commit();
  }
  contractors.commit();

  const cameras = table('点位故障时长', [
    { header: '国标编码', width: 24 },
    { header: '点位名称', width: 30 },
    { header: '维保单位', width: 24 },
    { header: '所属区域', width: 40 },
    { header: '故障时长（秒）', width: 14 },
    { header: '故障时长（小时）', width: 16, fmt: hoursFmt },
    { header: '在线率（%）', width: 12, fmt: rateFmt },
    { header: '扣分', width: 8, fmt: scoreFmt },
  ]);
  let n = 0;
  for (const c of sheet.cameras()) {
    cameras.addRow(cameraCells(c)).commit();
    if (++n % 2000 === 0) await breathe(out);
  }
  cameras.commit();
  await wb.commit();
}

/** One row of the per-camera sheet (also what the read-back test compares with the JSON). */
export function cameraCells(c: AssessmentCamera): Cell[] {
  return [c.code, c.name, c.org, c.region, c.faultSec, c.faultHours, c.rate, c.deduction];
}
