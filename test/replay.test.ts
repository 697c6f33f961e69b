import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, DefaultLogger, Worker } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { beforeAll, describe, expect, it } from 'vitest';
import { encryptedDataConverter } from '../temporal/data-converter.ts';
import { bundleEngineWorkflows } from '../temporal/engine-worker.ts';
import { testKeyring } from './fixtures/test-keys.ts';

const HISTORIES = join(dirname(fileURLToPath(import.meta.url)), 'histories');
const histories = readdirSync(HISTORIES)
  .filter((file) => file.endsWith('.json'))
  .map((file) => ({ file, history: JSON.parse(readFileSync(join(HISTORIES, file), 'utf8')) as unknown }));

const dataConverter = encryptedDataConverter(testKeyring());

describe('replaying committed histories (no server needed)', () => {
  let current: Awaited<ReturnType<typeof bundleEngineWorkflows>>;
  beforeAll(async () => {
    current = await bundleEngineWorkflows();
  });

  it('has histories to replay', () => {
    expect(histories.map(({ file }) => file)).toEqual(
      expect.arrayContaining([
        // Recorded before the capability-loop registry and the ladder's re-checks: they prove the patches hold.
        'partner-supervisor-lifecycle.json',
        'partner-supervisor-continued-as-new.json',
        'partner-supervisor-from-carried-state.json',
        'customer-provisioning-lifecycle.json',
        'partner-supervisor-credentials-rejected.json',
        // Today's shapes, one per workflow type.
        'partner-supervisor-loop-registry.json',
        'provisioning-loop-cancelled.json',
        'customer-provisioning-ladder-rechecked.json',
        'agent-deployment-window.json',
        'agents-loop-switched-off.json',
        'usage-loop-lifecycle.json',
        'alert-lifecycle.json',
        'alerts-loop.json',
      ]),
    );
  });

  it.each(histories)('today’s workflow code replays $file without a determinism error', async ({ history }) => {
    await expect(Worker.runReplayHistory({ workflowBundle: current, dataConverter }, history)).resolves.toBeUndefined();
  });

  it('catches a change that would break running workflows', async () => {
    const changed = await bundleWorkflowCode({
      workflowsPath: fileURLToPath(new URL('./fixtures/changed-supervisor.ts', import.meta.url)),
      logger: new DefaultLogger('WARN'),
    });
    const lifecycle = histories.find(({ file }) => file === 'partner-supervisor-lifecycle.json')!;
    await expect(Worker.runReplayHistory({ workflowBundle: changed, dataConverter }, lifecycle.history)).rejects.toBeInstanceOf(DeterminismViolationError);
  });
});
