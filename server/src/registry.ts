import type { Router } from 'express';
import { auditRouter } from './audit/routes';
import { AuditService } from './audit/service';
import { camerasRouter } from './cameras/routes';
import { CameraService } from './cameras/service';
import type { AppContext } from './context';
import { demoRouter } from './demo/routes';
import { regionsRouter } from './regions/routes';
import { RegionService } from './regions/service';

/** The registry capability of one app: the region tree, the camera points and the audit log. */
export interface Registry {
  regions: RegionService;
  cameras: CameraService;
  audit: AuditService;
}

const registries = new WeakMap<AppContext, Registry>();

/**
 * Creates the registry services on the app's connection. Regions, cameras and audit reference each
 * other (scope checks need the tree, counts need the points, both write audit entries), so they are
 * built in one place and linked after construction.
 */
export async function setupRegistry(ctx: AppContext): Promise<Registry> {
  const logger = ctx.logger.child({ component: 'registry' });
  const regions = await RegionService.open(ctx.store.conn, { logger });
  const audit = new AuditService(ctx.store.conn, regions);
  regions.attachAudit(audit);
  const cameras = new CameraService(ctx.store.conn, regions, audit, ctx.config, logger);
  await cameras.init();
  regions.attachPoints(cameras);
  const registry = { regions, cameras, audit };
  registries.set(ctx, registry);
  return registry;
}

/** The registry of this app (keyed by context, not a process global). */
export function registryOf(ctx: AppContext): Registry {
  const r = registries.get(ctx);
  if (!r) throw new Error('registry is not set up for this app (call setupRegistry(ctx) first)');
  return r;
}

/**
 * Mounts /audit, /regions, /cameras and /demo. Routers with fixed /cameras/<word> paths (import, export)
 * must be mounted before this so `/cameras/:id` does not capture them.
 */
export function mountRegistry(api: Router, ctx: AppContext, registry: Registry): void {
  api.use(auditRouter(ctx, registry.audit));
  api.use(regionsRouter(ctx, registry.regions));
  api.use(camerasRouter(ctx, registry.cameras));
  api.use(demoRouter(ctx, registry));
}
