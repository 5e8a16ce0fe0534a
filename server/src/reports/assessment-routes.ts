import { Router } from 'express';
import { assessmentFileQuerySchema, assessmentQuerySchema, assessmentReissueSchema, assessmentSchema, assessmentVersionSchema } from '../contracts/assessment';
import type { AppContext } from '../context';
import { defineRoute, RESPONDED } from '../lib/http';
import type { AssessmentService } from './assessment-service';
import { writeAssessmentXlsx } from './assessment-xlsx';

const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

/** /reports/assessment: the monthly contractor assessment (JSON, XLSX) and the re-issue of a closed month. */
export function assessmentRouter(ctx: AppContext, service: AssessmentService): Router {
  const router = Router();
  const tags = ['reports'];

  defineRoute(router, ctx.openapi, {
    method: 'get',
    path: '/reports/assessment',
    summary:
      'Monthly contractor assessment (考核表) of the caller’s visible points: per maintainer organisation a score out of 100 (deductions per camera over the fault-hour tiers), ' +
      'grade and rank; per-region ranking; per-camera fault hours (most first, `cameras` rows). A month past its grace period is closed (frozen) and answered from its frozen version.',
    tags,
    permission: 'report:read',
    query: assessmentQuerySchema,
    responses: { 200: { description: 'the assessment', schema: assessmentSchema }, 404: { description: 'region unknown or outside your view, or no such version' } },
    handler: async ({ principal, query }) => (await service.assessment(principal, query)).assessment,
  });

  defineRoute(router, ctx.openapi, {
    method: 'get',
    path: '/reports/assessment/xlsx',
    summary:
      'The same assessment as an XLSX workbook (sheets 汇总 / 区域排名 / 维保单位得分 / 点位故障时长, every point), streamed; a closed version’s file is byte-for-byte the same on every download.',
    tags,
    permission: 'report:read',
    query: assessmentFileQuerySchema,
    responses: { 200: { description: 'the workbook', contentType: XLSX, headers: ['Content-Disposition'] }, 404: { description: 'region unknown or outside your view, or no such version' } },
    handler: async ({ principal, query, res }) => {
      // computed before anything is sent, so a bad query still gets its error envelope
      const { sheet, stamp, name } = await service.file(principal, query);
      res.status(200);
      res.setHeader('Content-Type', XLSX);
      res.setHeader('Content-Disposition', `attachment; filename="${name}"`);
      res.setHeader('Cache-Control', 'no-store');
      try {
        // resolves once the response has finished (the workbook's zip is piped into it and ends it)
        await writeAssessmentXlsx(res, sheet, stamp);
      } catch (err) {
        ctx.logger.error('assessment XLSX failed mid-stream', { err });
        res.destroy(err instanceof Error ? err : undefined);
      }
      return RESPONDED;
    },
  });

  defineRoute(router, ctx.openapi, {
    method: 'post',
    path: '/reports/assessment/reissue',
    summary: 'Re-issue a closed month from today’s registry and history as its next version (global administrators, with a reason; audited). Earlier versions stay readable with `version`.',
    tags,
    permission: 'settings:manage',
    body: assessmentReissueSchema,
    status: 201,
    responses: { 201: { description: 'the new version', schema: assessmentVersionSchema }, 409: { description: 'the month is still open, or the version was issued meanwhile' } },
    handler: async ({ principal, body }) => service.reissue(principal, body),
  });
  return router;
}
