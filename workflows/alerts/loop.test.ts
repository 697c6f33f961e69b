import { setTimeout as delay } from 'node:timers/promises';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AlertActivities, FollowAlertsInput, FollowAlertsResult } from '../../activities/alerts/types.ts';
import { resolveTemporalExecutable } from '../../dev/temporal-binaries.ts';
import { bundleEngineWorkflows } from '../../temporal/engine-worker.ts';
import { alertsLoopStateQuery, alertsLoopWorkflowId, type AlertsLoopInput } from '../contracts/alerts.ts';
import { CAPABILITY_OFF_FAILURE, configurationChangedSignal, syncNowSignal } from '../contracts/loops.ts';
import { LONG_ACTIVITY_TASK_QUEUE, TASK_QUEUE } from '../contracts/task-queues.ts';
import type { alertsLoop } from './loop.ts';

/**
 * The alerts loop's own decisions, on the time-skipping test server: the feed activities here stand
 * in for Acronis (their own tests run against the simulator) and record what the loop asked.
 */

let env: TestWorkflowEnvironment;
let workers: Worker[];
let running: Promise<void>[];
let feedRuns: FollowAlertsInput[];
let retries: number;
/** What the next feed run does: poll until cancelled (answering its cursor), or refuse as ticket sync off. */
let feedBehaviour: 'follow' | 'off';
let partners = 0;

const activities: Pick<AlertActivities, 'followAlerts' | 'retryFailedTickets'> = {
  async followAlerts(input) {
    feedRuns.push(input);
    if (feedBehaviour === 'off') throw ApplicationFailure.create({ type: CAPABILITY_OFF_FAILURE, message: 'nothing was written: tickets is switched off', nonRetryable: true });
    const cursor = String(BigInt(input.cursor ?? '1000') + 1n);
    const context = Context.current();
    // Polls "forever": answers its cursor once cancelled, as the real feed does.
    while (!context.cancellationSignal.aborted) {
      context.heartbeat({ cursor });
      await delay(100);
    }
    const result: FollowAlertsResult = { cursor, mappingsSeenAt: null, polls: 1, handedOn: 2, lastPollAt: null, stopped: 'interrupted' };
    return result;
  },
  async retryFailedTickets() {
    retries++;
    return 3;
  },
};

beforeAll(async () => {
  env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: resolveTemporalExecutable('test-server').executable } });
  const workflowBundle = await bundleEngineWorkflows();
  workers = [
    await Worker.create({ connection: env.nativeConnection, taskQueue: TASK_QUEUE, workflowBundle, activities }),
    await Worker.create({ connection: env.nativeConnection, taskQueue: LONG_ACTIVITY_TASK_QUEUE, activities, maxHeartbeatThrottleInterval: '200 milliseconds' }),
  ];
  running = workers.map((worker) => worker.run());
});
afterAll(async () => {
  for (const worker of workers ?? []) worker.shutdown();
  await Promise.all(running ?? []);
  await env?.teardown();
});
beforeEach(() => {
  feedRuns = [];
  retries = 0;
  feedBehaviour = 'follow';
});

function start(extra: Partial<AlertsLoopInput> = {}) {
  const partnerId = `partner-${++partners}`;
  return env.client.workflow.start<typeof alertsLoop>('alertsLoop', { workflowId: alertsLoopWorkflowId(partnerId), taskQueue: TASK_QUEUE, args: [{ v: 1, partnerId, ...extra }] });
}

async function until(check: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await delay(50);
  }
}

describe('the alerts loop (time-skipping test server)', () => {
  it('starts the feed from a first scan, and on "sync now" restarts it at once from the cursor it answered', async () => {
    const handle = await start();
    await until(() => feedRuns.length === 1);
    expect(feedRuns[0]).toMatchObject({ cursor: null });
    await handle.signal(syncNowSignal);
    await until(() => feedRuns.length === 2);
    expect(feedRuns[1]).toMatchObject({ cursor: '1001' });
    expect(await handle.query(alertsLoopStateQuery)).toMatchObject({ cursor: '1001', polls: 1, handedOn: 2 });
    await handle.cancel();
    await expect(handle.result()).resolves.toMatchObject({ stopReason: 'ticket sync was switched off or the partner removed' });
  });

  it('tries the refused tickets again after a configuration change, while the feed runs on', async () => {
    const handle = await start();
    await until(() => feedRuns.length === 1);
    await handle.signal(configurationChangedSignal);
    await until(async () => (await handle.query(alertsLoopStateQuery)).retried === 3);
    expect(retries).toBe(1);
    expect(feedRuns).toHaveLength(1);
    await handle.cancel();
  });

  it('continues as new after its signal budget, carrying the cursor', async () => {
    const handle = await start({ signalsPerRun: 2 });
    await until(() => feedRuns.length === 1);
    await handle.signal(syncNowSignal);
    await until(() => feedRuns.length === 2);
    await handle.signal(syncNowSignal);
    await until(() => feedRuns.length === 3);
    const described = await env.client.workflow.getHandle(handle.workflowId).describe();
    expect(described.runId).not.toBe(handle.firstExecutionRunId);
    expect(feedRuns[2]).toMatchObject({ cursor: '1002' });
    expect(await env.client.workflow.getHandle(handle.workflowId).query(alertsLoopStateQuery)).toMatchObject({ previousRuns: 1, cursor: '1002', polls: 2 });
    await env.client.workflow.getHandle(handle.workflowId).cancel();
  });

  it('ends when the feed finds ticket sync switched off', async () => {
    feedBehaviour = 'off';
    const handle = await start();
    await expect(handle.result()).resolves.toMatchObject({ stopReason: expect.stringContaining('tickets is switched off') });
  });
});
