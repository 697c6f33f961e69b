import { once } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import { serve } from '@hono/node-server';
import { Client, Connection } from '@temporalio/client';
import { setOutboundAddressPolicy } from '../clients/outbound-guard.ts';
import { PartnerClientsCache } from '../clients/partner-clients.ts';
import { loadConfig } from '../config.ts';
import { adminTokenExists, ensureBootstrapToken, generateToken } from '../db/api-tokens.ts';
import { connectDatabase, type Db } from '../db/connection.ts';
import { migrateToLatest } from '../db/migrate.ts';
import { listPartners } from '../db/partners.ts';
import { createLogger, type Logger } from '../log.ts';
import { runMain } from '../run-main.ts';
import { encryptedDataConverter } from '../temporal/data-converter.ts';
import { PartnerWorkflows } from '../temporal/partner-workflows.ts';
import { AgentWorkflows } from '../temporal/agent-workflows.ts';
import { CapabilityLoops } from '../temporal/capability-loops.ts';
import { ProvisioningWorkflows } from '../temporal/provisioning-workflows.ts';
import { UsageWorkflows } from '../temporal/usage-workflows.ts';
import { ensureSearchAttributes } from '../temporal/search-attributes.ts';
import { createApp } from './app.ts';

async function bootstrapAdminToken(db: Db, configured: string | undefined): Promise<void> {
  if (configured) return ensureBootstrapToken(db, configured);
  if (await adminTokenExists(db)) return;
  const token = generateToken();
  await ensureBootstrapToken(db, token);
  // Printed once, not logged: whoever starts the API the first time needs it, log collectors do not.
  process.stdout.write(`\nNo ADMIN_TOKEN was set and no admin token exists; created one (shown only now):\n\n  ${token}\n\n`);
}

/**
 * Every live partner has its supervisor: covers a Temporal whose state was lost or a start that
 * failed after its partner was committed. Retries in the background until Temporal answers.
 */
async function keepSupervisorsRunning(db: Db, connection: Connection, namespace: string, workflows: PartnerWorkflows, logger: Logger, signal: AbortSignal): Promise<void> {
  for (let attempt = 0; !signal.aborted; attempt++) {
    try {
      await ensureSearchAttributes(connection, namespace);
      const partners = await listPartners(db);
      for (const partner of partners) await workflows.startSupervisor(partner);
      logger.info({ partners: partners.length }, 'partner supervisors ensured');
      return;
    } catch (error) {
      logger.warn({ err: error, attempt }, 'could not ensure partner supervisors yet; retrying');
      await delay(Math.min(30_000, 1_000 * 2 ** attempt), undefined, { signal }).catch(() => undefined);
    }
  }
}

runMain('api', async () => {
  const config = loadConfig();
  const logger = createLogger('api', config.logLevel);
  setOutboundAddressPolicy({ allowPrivate: !config.production });
  const db = connectDatabase(config.databaseUrl);
  await migrateToLatest(db);
  await bootstrapAdminToken(db, config.api.adminToken);

  // Lazy, so the API serves /healthz (degraded) while Temporal is still starting or away.
  const connection = Connection.lazy({ address: config.temporal.address });
  const temporal = new Client({ connection, namespace: config.temporal.namespace, dataConverter: encryptedDataConverter(config.keyring) });
  const workflows = new PartnerWorkflows(temporal, config.temporal.uiUrl);
  const app = createApp({
    db,
    keyring: config.keyring,
    temporal,
    workflows,
    provisioning: new ProvisioningWorkflows(temporal),
    loops: new CapabilityLoops(temporal),
    agents: new AgentWorkflows(temporal),
    usage: new UsageWorkflows(temporal, new CapabilityLoops(temporal)),
    partnerClients: new PartnerClientsCache(db, config.keyring, { timeoutMs: config.vendorTimeoutMs }),
    logger,
    production: config.production,
    temporalUiUrl: config.temporal.uiUrl,
    publicUrl: config.api.publicUrl,
  });
  const server = serve({ fetch: app.fetch, port: config.api.port, hostname: config.api.host });
  await once(server, 'listening');
  logger.info({ url: config.api.publicUrl, docs: `${config.api.publicUrl}/docs` }, 'admin API listening');

  const stopping = new AbortController();
  const reconciled = keepSupervisorsRunning(db, connection, config.temporal.namespace, workflows, logger, stopping.signal);

  const shutdown = async (signal: string) => {
    logger.info({ signal }, 'admin API stopping');
    stopping.abort();
    await new Promise((resolve) => server.close(resolve));
    await reconciled;
    await connection.close();
    await db.destroy();
    process.exit(0);
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, (name) => void shutdown(name));
});
