import { Router } from 'express';
import type { AppContext } from '../context';
import type { Principal } from '../contracts/access';
import { demoResultSchema, demoStatusSchema, simulatorSchema, type SimulatorState } from '../contracts/demo';
import { AppError } from '../lib/errors';
import { defineRoute } from '../lib/http';
import { DEMO_DISTRICT_CODE, SYNTHETIC_NOTE, loadDemoDistrict, type DemoPorts, type DemoServices } from './district';
import { demoDistrictCameras } from './sim/mapping';
import { startSimulator, type RunningSimulator } from './sim/simulator';


/**
 * The demo loads a whole district and may start listeners on this machine: a decision for whoever administers
 * the whole installation, signed in (not a scoped admin, not an API token).
 */
function assertGlobalAdmin(principal: Principal): void {
  if (principal.scopeRegionId !== null || principal.kind === 'token') {
    throw new AppError('forbidden', 'only a global admin, signed in, may load the demo district or start its simulator');
  }
}

/**
 * First-run helper for the console: loads the synthetic demo district into an empty registry and runs the
 * camera simulator for it inside this process.
 *
 * The demo points are registered with the simulator's configured ports (DEMO_SIM_RTSP_PORT /
 * DEMO_SIM_HTTP_PORT), so whoever moves the simulator off a busy 8554/8080 gets points that name the new
 * ports, and an external `npm run sim -- --demo` under the same environment serves them too. A configured 0
 * ("any free port") cannot be named before the simulator listens: the load then starts the in-process
 * simulator first and registers the points with the ports it got. Nothing is re-pointed afterwards, which
 * would first mark all 5,400 points DOWN.
 *
 * `registry` is the narrow DemoServices (regions, cameras, audit), not the composition root's Registry.
 */
export function demoRouter(ctx: AppContext, registry: DemoServices): Router {
  const router = Router();
  const configured: DemoPorts = { rtspPort: ctx.config.DEMO_SIM_RTSP_PORT, httpPort: ctx.config.DEMO_SIM_HTTP_PORT };
  let simulator: RunningSimulator | null = null;
  let starting: Promise<RunningSimulator> | null = null;
  ctx.onStop(async () => {
    await (starting ?? Promise.resolve(simulator)).then((s) => s?.stop()).catch(() => undefined);
  });
  /** The running simulator, started once on the configured ports (concurrent callers share the start). */
  const runSimulator = async (): Promise<RunningSimulator> => {
    if (simulator) return simulator;
    // each camera's own 127.20.x.y address, never a wildcard: nothing of the trial listens beyond loopback
    starting ??= startSimulator({ cameras: demoDistrictCameras(), rtspPort: configured.rtspPort, httpPort: configured.httpPort, controlPort: 0, bind: 'cameras' });
    try {
      simulator = await starting;
      return simulator;
    } catch (err) {
      throw new AppError('conflict', `the simulator could not start (ports ${configured.rtspPort}/${configured.httpPort} in use? see DEMO_SIM_RTSP_PORT / DEMO_SIM_HTTP_PORT): ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      starting = null;
    }
  };
  const pointPorts = async (): Promise<DemoPorts> => {
    if (configured.rtspPort !== 0 && configured.httpPort !== 0) return configured;
    const sim = await runSimulator();
    return { rtspPort: sim.rtspPort, httpPort: sim.httpPort };
  };
  const simulatorState = (): SimulatorState =>
    simulator
      ? { running: true, cameras: simulator.cameras.size, rtspPort: simulator.rtspPort, httpPort: simulator.httpPort, controlUrl: simulator.controlUrl }
      : { running: false, cameras: 0, rtspPort: null, httpPort: null, controlUrl: null };
  const demoLoaded = (): boolean =>
    registry.regions.listAll().some((r) => r.tier === 'district' && r.code === DEMO_DISTRICT_CODE && registry.regions.hasNote(r.id, SYNTHETIC_NOTE));
  defineRoute(router, ctx.openapi, {
    method: 'get',
    path: '/demo',
    summary: 'Whether the registry is empty (the console then offers the demo district) and whether the demo district is loaded',
    tags: ['demo'],
    permission: 'region:read',
    responses: { 200: { description: 'registry state', schema: demoStatusSchema } },
    handler: async () => {
      const empty = registry.regions.size() === 0 && (await registry.cameras.isEmpty());
      return { empty, demoLoaded: demoLoaded(), simulator: simulatorState() };
    },
  });
  defineRoute(router, ctx.openapi, {
    method: 'post',
    path: '/demo/load',
    summary: 'Load the synthetic demo district (铁东区, 536 grids, 5,400 points); refused unless the registry is empty',
    tags: ['demo'],
    permission: 'settings:manage',
    status: 201,
    responses: { 201: { description: 'loaded', schema: demoResultSchema }, 403: { description: 'not a global admin with a session' }, 409: { description: 'the registry is not empty' } },
    handler: ({ principal }) => {
      assertGlobalAdmin(principal);
      return loadDemoDistrict(registry, { actor: { userId: principal.userId, username: principal.username }, ports: pointPorts });
    },
  });
  defineRoute(router, ctx.openapi, {
    method: 'post',
    path: '/demo/simulator',
    summary: 'Start the camera simulator for the demo district inside this process (trials only; DEMO_SIM_RTSP_PORT/DEMO_SIM_HTTP_PORT, default 8554/8080, on 127.20.x.y)',
    tags: ['demo'],
    permission: 'settings:manage',
    status: 201,
    responses: {
      201: { description: 'running', schema: simulatorSchema },
      403: { description: 'not a global admin with a session' },
      409: { description: 'the demo district is not loaded, or the simulator could not start (ports in use)' },
    },
    handler: async ({ principal }) => {
      assertGlobalAdmin(principal);
      if (simulator) return simulatorState();
      if (!demoLoaded()) throw new AppError('conflict', 'load the demo district first: the simulator serves its synthetic points only');
      await runSimulator();
      return simulatorState();
    },
  });
  return router;
}
