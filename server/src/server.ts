import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import express from 'express';
import { Server as SocketServer } from 'socket.io';
import { createAlerts } from './alerts';
import { toAuditRecord } from './audit/auth-events';
import { setupAuth } from './auth/instance';
import { authenticate } from './auth/middleware';
import { assertCanSubscribe, socketAuth } from './auth/socket';
import { authRouter } from './auth/routes';
import { corsAllowList, securityHeaders } from './auth/security';
import type { Config } from './config';
import type { AppContext } from './context';
import { AppError, errorHandler, notFoundHandler } from './lib/errors';
import { createLive } from './live';
import { createMonitoring } from './monitoring';
import { createReports } from './reports';
import { createLogger, type Logger } from './lib/logger';
import { OpenApiRegistry } from './lib/openapi';
import { requestContext } from './lib/request-context';
import { rejectOperatorKeys } from './lib/sanitize';
import { mountTransfer } from './cameras/transfer/routes';
import { mountRegistry, setupRegistry, type Registry } from './registry';
import { openStore, type Store } from './store/connection';
import { tuneGc } from './lib/runtime';

export interface StartOptions {
  config: Config;
  logger?: Logger;
  /** When maintenance windows open and close (default Date.now; tests move it instead of waiting). */
  maintenanceClock?: () => number;
}

export interface RunningServer {
  url: string;
  port: number;
  ctx: AppContext;
  httpServer: http.Server;
  io: SocketServer;
  /** First run without ADMIN_USERNAME: the one-time link that creates the first admin (printed by main). */
  setupUrl?: string;
  /** Regions, camera points and audit of this app (also reachable as registryOf(ctx)). */
  registry: Registry;
  stop(): Promise<void>;
}

const repoRoot = path.resolve(__dirname, fs.existsSync(path.resolve(__dirname, '../../package.json')) ? '../..' : '../../..');

/** Composition root: config → store → services → http + socket.io. `config.PORT` 0 picks a free port. */
export async function startServer(opts: StartOptions): Promise<RunningServer> {
  const { config } = opts;
  tuneGc({ parallelScavenge: config.GC_PARALLEL_SCAVENGE, heapGrowthPercent: config.GC_HEAP_GROWTH_PERCENT });
  const logger = opts.logger ?? createLogger({ level: config.LOG_LEVEL, format: config.LOG_FORMAT, production: config.NODE_ENV === 'production' });
  const store: Store = await openStore(config, logger);

  const stoppers: Array<() => Promise<void> | void> = [];
  const readiness = new Map<string, () => Promise<boolean> | boolean>();
  readiness.set('store', () => store.ping());
  const ctx: AppContext = {
    config,
    logger,
    store,
    openapi: new OpenApiRegistry(),
    onStop: (fn) => void stoppers.push(fn),
    addReadinessCheck: (name, check) => void readiness.set(name, check),
  };
  const registry = await setupRegistry(ctx).catch(async (err: unknown) => {
    await store.close();
    throw err;
  });
  const { auth, setupToken } = await setupAuth(ctx).catch(async (err: unknown) => {
    await store.close();
    throw err;
  });
  auth.attach({ regions: registry.regions, audit: (entry) => registry.audit.record(toAuditRecord(entry)) });

  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', config.TRUST_PROXY);
  app.set('query parser', 'simple');
  app.use(requestContext(logger));
  // an intranet tile server on another origin must be allowed as an image source by the CSP
  const tileOrigin = config.MAP_TILE_URL && /^https?:/.test(config.MAP_TILE_URL) ? [new URL(config.MAP_TILE_URL.replace(/\{[xyz]\}/g, '0')).origin] : [];
  app.use(securityHeaders(config, tileOrigin));
  app.use(corsAllowList(config));

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const checks: Record<string, boolean> = {};
    for (const [name, check] of readiness) {
      try {
        checks[name] = await check();
      } catch {
        checks[name] = false;
      }
    }
    const ok = Object.values(checks).every(Boolean);
    res.status(ok ? 200 : 503).json({ status: ok ? 'ready' : 'not_ready', checks });
  });

  const api = express.Router();
  api.use(express.json({ limit: config.BODY_LIMIT_BYTES }));
  api.use(rejectOperatorKeys);
  api.use(authenticate(ctx));
  // capability routers are mounted here (see each capability's routes.ts)
  await mountTransfer(api, ctx, registry).catch(async (err: unknown) => {
    await store.close();
    throw err;
  });
  mountRegistry(api, ctx, registry);
  const monitoring = createMonitoring(ctx, { cameras: registry.cameras });
  api.use(monitoring.router);
  const reports = createReports(ctx, { registry: { regions: registry.regions, points: registry.cameras, audit: registry.audit }, history: monitoring.service.historyRead });
  api.use(reports.router);
  app.get('/metrics', monitoring.metricsHandler);
  const live = createLive(ctx, { socketAuth: socketAuth(ctx), assertCanSubscribe, registry, feed: monitoring.service.feed, load: monitoring.service });
  api.use(live.router);
  const alerts = await createAlerts(ctx, { registry, monitoring: monitoring.service, maintenanceClock: opts.maintenanceClock }).catch(async (err: unknown) => {
    await store.close();
    throw err;
  });
  auth.attach({ namedBy: (userId) => alerts.incidents.policiesNamingUser(userId) });
  api.use(alerts.router);
  api.use(authRouter(ctx));
  api.get('/openapi.json', (_req, res) => {
    res.json(ctx.openapi.document());
  });
  api.use(notFoundHandler);
  app.use('/api/v1', api);
  // polling starts once every router is mounted (live push subscribes to the feed above)
  await monitoring.start().catch(async (err: unknown) => {
    await store.close();
    throw err;
  });
  // alerting places the points monitoring restored as DOWN, then follows the feed
  await alerts.start();
  await reports.init();

  const swaggerDir = path.dirname(require.resolve('swagger-ui-dist/package.json'));
  app.get('/api/docs', (_req, res) => {
    res.type('html').send(swaggerPage);
  });
  app.get('/api/docs/init.js', (_req, res) => {
    res.type('js').send("window.ui = SwaggerUIBundle({ url: '/api/v1/openapi.json', dom_id: '#swagger-ui' });");
  });
  app.use('/api/docs/assets', express.static(swaggerDir, { index: false }));

  const clientDist = path.join(repoRoot, 'client', 'dist');
  if (fs.existsSync(path.join(clientDist, 'index.html'))) {
    app.use(express.static(clientDist, { index: 'index.html' }));
    app.get(/^\/(?!api\/|socket\.io\/).*/, (_req, res) => {
      res.sendFile(path.join(clientDist, 'index.html'));
    });
  }
  app.use((_req, _res, next) => next(new AppError('not_found', 'not found')));
  app.use(errorHandler(logger));

  const httpServer = http.createServer(app);
  const io = new SocketServer(httpServer, { serveClient: false, cors: { origin: config.CORS_ORIGINS } });
  live.attach(io);
  alerts.attach(io);

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(config.PORT, config.HOST, () => {
      httpServer.off('error', reject);
      resolve();
    });
  });
  const port = (httpServer.address() as AddressInfo).port;
  const displayHost = config.HOST === '0.0.0.0' || config.HOST === '::' ? '127.0.0.1' : config.HOST;
  const url = config.PUBLIC_URL ?? `http://${displayHost.includes(':') ? `[${displayHost}]` : displayHost}:${port}/`;
  // the monthly assessment, once a month closes, through the alerts' channels and outbox (link to this console)
  reports.startMonthly({ enqueue: (entries) => alerts.outbox.enqueue(entries), channels: () => alerts.channels.list() }, () => url);

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      for (const fn of stoppers.reverse()) {
        try {
          await fn();
        } catch (err) {
          logger.warn('stop hook failed', { err });
        }
      }
      await io.close().catch(() => undefined);
      const closed = new Promise<void>((resolve) => httpServer.close(() => resolve()));
      httpServer.closeIdleConnections();
      const timer = setTimeout(() => httpServer.closeAllConnections(), config.SHUTDOWN_GRACE_MS);
      await closed;
      clearTimeout(timer);
      await store.close();
    })();
    return stopping;
  };

  const setupUrl = setupToken ? `${url.replace(/\/?$/, '/')}setup?token=${setupToken}` : undefined;
  return { url, port, ctx, httpServer, io, stop, registry, ...(setupUrl ? { setupUrl } : {}) };
}

const swaggerPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Vigil API</title>
<link rel="stylesheet" href="/api/docs/assets/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/api/docs/assets/swagger-ui-bundle.js"></script>
<script src="/api/docs/init.js"></script>
</body></html>`;
