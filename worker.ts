import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, makeTelemetryFilterString, NativeConnection, Runtime, type LogLevel } from '@temporalio/worker';
import { loadConfig } from './config.ts';
import { connectDatabase } from './db/connection.ts';
import { migrateToLatest } from './db/migrate.ts';
import { createLogger } from './log.ts';
import { runMain } from './run-main.ts';
import { encryptedDataConverter } from './temporal/data-converter.ts';
import { setOutboundAddressPolicy } from './clients/outbound-guard.ts';
import { createEngineWorker } from './temporal/engine-worker.ts';
import { ensureSearchAttributes } from './temporal/search-attributes.ts';
import { freeLoopbackPort, serveWorkerMetrics } from './temporal/worker-metrics.ts';

/** Seconds: fine around the 200 ms an operator alerts on, coarse towards minutes of backlog. */
const SCHEDULE_TO_START_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1, 2, 5, 10, 30, 60, 300];

const PINO_LEVELS: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

runMain('worker', async () => {
  const config = loadConfig();
  const logger = createLogger('worker', config.logLevel);
  setOutboundAddressPolicy({ allowPrivate: !config.production });
  // The SDK's own log lines (worker, workflow `log`, activity `log`) go out as the same JSON lines;
  // its metrics go to a loopback exporter that the metrics port serves with the engine's own.
  const sdkMetricsPort = await freeLoopbackPort();
  Runtime.install({
    logger: new DefaultLogger('INFO', ({ level, message, meta }) => logger[PINO_LEVELS[level]](meta ?? {}, message)),
    telemetryOptions: {
      logging: { forward: {}, filter: makeTelemetryFilterString({ core: 'WARN' }) },
      metrics: {
        prometheus: {
          bindAddress: `127.0.0.1:${sdkMetricsPort}`,
          countersTotalSuffix: true,
          useSecondsForDurations: true,
          // Temporal advises alerting on task schedule-to-start above 200 ms; the SDK's buckets jump from 100 ms to 500 ms.
          histogramBucketOverrides: { schedule_to_start_latency: SCHEDULE_TO_START_BUCKETS_S },
        },
      },
    },
  });

  const db = connectDatabase(config.databaseUrl);
  await migrateToLatest(db);
  const connection = await NativeConnection.connect({ address: config.temporal.address });
  const added = await ensureSearchAttributes(connection, config.temporal.namespace);
  if (added.length) logger.info({ added }, 'registered search attributes');

  // Activities start and signal workflows through a client of their own, encrypting payloads as the worker does.
  const clientConnection = await Connection.connect({ address: config.temporal.address });
  const client = new Client({ connection: clientConnection, namespace: config.temporal.namespace, dataConverter: encryptedDataConverter(config.keyring) });

  const worker = await createEngineWorker({ connection, namespace: config.temporal.namespace, db, keyring: config.keyring, client, partnerClients: { timeoutMs: config.vendorTimeoutMs } });
  const metrics = await serveWorkerMetrics({ port: config.metricsPort, sdkMetricsUrl: `http://127.0.0.1:${sdkMetricsPort}/metrics`, states: () => worker.states });
  logger.info({ temporal: config.temporal.address, namespace: config.temporal.namespace, taskQueues: worker.taskQueues, metrics: `:${config.metricsPort}/metrics` }, 'worker running');
  // Runtime's signal handlers (SIGINT, SIGTERM) shut the worker down; run() returns once it has drained.
  await worker.run();
  await new Promise((resolve) => metrics.close(resolve));
  await clientConnection.close();
  await connection.close();
  await db.destroy();
  logger.info('worker stopped');
});
