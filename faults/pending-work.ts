/**
 * What the engine still has in hand when the vendors have not shown everything by the deadline:
 * the running workflows' pending activities, as Temporal describes them (the Web UI shows the same).
 */
import { Client, Connection } from '@temporalio/client';

export async function pendingWork(temporalAddress: string, limit = 20): Promise<string[]> {
  const connection = await Connection.connect({ address: temporalAddress });
  try {
    const client = new Client({ connection });
    const lines: string[] = [];
    for await (const execution of client.workflow.list({ query: 'ExecutionStatus="Running"' })) {
      const description = await client.workflow.getHandle(execution.workflowId, execution.runId).describe();
      for (const activity of description.raw.pendingActivities ?? []) {
        const failure = activity.lastFailure?.message ? `, last failure: ${activity.lastFailure.message.slice(0, 160)}` : '';
        const heartbeat = activity.lastHeartbeatTime?.seconds ? `, last heartbeat ${new Date(Number(activity.lastHeartbeatTime.seconds) * 1000).toISOString()}` : '';
        lines.push(`${execution.workflowId}: ${activity.activityType?.name ?? '?'} attempt ${activity.attempt ?? 0} (state ${String(activity.state)}${heartbeat}${failure})`);
        if (lines.length >= limit) return lines;
      }
    }
    return lines;
  } finally {
    await connection.close();
  }
}
