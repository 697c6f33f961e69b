import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, makeTelemetryFilterString, NativeConnection, Runtime, type LogLevel } from '@temporalio/worker';
import { loadConfig } from './config.ts';
import { connectDatabase } from './db/connection.ts';
import { migrateToLatest } from './db/migrate.ts';
import { createLogger } from './log.ts';
import { runMain } from './run-main.ts';
import { encryptedDataConverter } from './temporal/data-converter.ts';
import { createEngineWorker } from './temporal/engine-worker.ts';
import { ensureSearchAttributes } from './temporal/search-attributes.ts';

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
  // The SDK's own log lines (worker, workflow `log`, activity `log`) go out as the same JSON lines.
  Runtime.install({
    logger: new DefaultLogger('INFO', ({ level, message, meta }) => logger[PINO_LEVELS[level]](meta ?? {}, message)),
    telemetryOptions: { logging: { forward: {}, filter: makeTelemetryFilterString({ core: 'WARN' }) } },
  });

  const db = connectDatabase(config.databaseUrl);
  await migrateToLatest(db);
  const connection = await NativeConnection.connect({ address: config.temporal.address });
  const added = await ensureSearchAttributes(connection, config.temporal.namespace);
  if (added.length) logger.info({ added }, 'registered search attributes');

  // Activities start and signal workflows through a client of their own, encrypting payloads as the worker does.
  const clientConnection = await Connection.connect({ address: config.temporal.address });
  const client = new Client({ connection: clientConnection, namespace: config.temporal.namespace, dataConverter: encryptedDataConverter(config.keyring) });

  const worker = await createEngineWorker({ connection, namespace: config.temporal.namespace, db, keyring: config.keyring, client });
  logger.info({ temporal: config.temporal.address, namespace: config.temporal.namespace, taskQueues: worker.taskQueues }, 'worker running');
  // Runtime's signal handlers (SIGINT, SIGTERM) shut the worker down; run() returns once it has drained.
  await worker.run();
  await clientConnection.close();
  await connection.close();
  await db.destroy();
  logger.info('worker stopped');
});
