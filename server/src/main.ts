import { ConfigError, loadConfig } from './config';
import { createLogger } from './lib/logger';
import { loadDemoIfEmpty } from './demo/district';
import { startServer } from './server';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`vigil: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger({ level: config.LOG_LEVEL, format: config.LOG_FORMAT, production: config.NODE_ENV === 'production' });
  const server = await startServer({ config, logger });
  process.stdout.write(`\nVigil is running. Console: ${server.url}\n\n`);
  if (process.argv.includes('--demo')) {
    const demo = await loadDemoIfEmpty(server.registry, { rtspPort: config.DEMO_SIM_RTSP_PORT, httpPort: config.DEMO_SIM_HTTP_PORT });
    process.stdout.write(demo ? `Demo district loaded: ${demo.regions} regions, ${demo.points} points (synthetic) in ${demo.tookMs} ms.\n\n` : 'Demo district not loaded: the registry is not empty.\n\n');
  }
  if (server.setupUrl) {
    process.stdout.write(`No user exists yet. Create the first administrator (one-time link):\n  ${server.setupUrl}\n\n`);
  }

  let signalled = false;
  const shutdown = (signal: string): void => {
    if (signalled) {
      logger.warn('second signal: exiting now', { signal });
      process.exit(1);
    }
    signalled = true;
    logger.info('shutting down', { signal });
    server.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error('shutdown failed', { err });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`vigil: failed to start: ${message}\n`);
  process.exit(1);
});
