/**
 * The Acronis plugin's scripts in Automate (Scripts > Backup and Recovery > Acronis), and what
 * Automate shows of their runs: whether a script reached a computer, and how it ended.
 */
import { collect } from '../clients/collect.ts';
import type { ConnectWiseAutomateClient } from '../clients/connectwise-automate/client.ts';
import { where } from '../clients/connectwise-automate/condition.ts';
import type { BatchScriptResult } from '../clients/connectwise-automate/models.ts';

export const PLUGIN_SCRIPT_NAMES = {
  install: 'Acronis Data Cloud agent Install/Upgrade',
  installWithBackupMonitor: 'Acronis Data Cloud agent Install/Upgrade with backup monitor',
  uninstall: 'Acronis Data Cloud agent Uninstall',
} as const;

export type PluginScript = keyof typeof PLUGIN_SCRIPT_NAMES;

/** The install scripts read their token from this parameter. */
export const REGISTRATION_TOKEN_PARAMETER = 'RegistrationToken';

/**
 * Automate's clock and ours are only roughly the same: a run queued up to this long before our
 * record of sending it still counts as ours.
 */
const CLOCK_SKEW_MS = 2 * 60_000;

/** The plugin's script ids by role; a role whose script Automate lacks is absent. */
export async function findPluginScripts(automate: ConnectWiseAutomateClient): Promise<Partial<Record<PluginScript, number>>> {
  const scripts = await collect(automate.scripts({ condition: where.like('Name', 'Acronis Data Cloud agent%') }));
  const found: Partial<Record<PluginScript, number>> = {};
  for (const [role, name] of Object.entries(PLUGIN_SCRIPT_NAMES) as [PluginScript, string][]) {
    const script = scripts.find((candidate) => candidate.Name.toLowerCase() === name.toLowerCase());
    if (script) found[role] = script.Id;
  }
  return found;
}

export type BatchOutcome = { kind: 'queued' } | { kind: 'offline' } | { kind: 'refused'; reason: string };

/** Each computer's result of a batch run; [INFER] Automate's reason codes are not documented, so its message decides "offline". */
export function batchOutcomes(result: BatchScriptResult, computerIds: readonly number[]): Map<number, BatchOutcome> {
  const outcomes = new Map<number, BatchOutcome>();
  for (const entry of result.ScriptResults ?? []) {
    const details = entry.ResultDetails;
    if (details.ResultStatus === 0) outcomes.set(Number(entry.EntityId), { kind: 'queued' });
    else if (/offline/i.test(details.Message ?? '')) outcomes.set(Number(entry.EntityId), { kind: 'offline' });
    else outcomes.set(Number(entry.EntityId), { kind: 'refused', reason: details.Message || `Automate refused the script (reason code ${details.ReasonCode})` });
  }
  // A computer the answer leaves out was not scripted.
  for (const computerId of computerIds) if (!outcomes.has(computerId)) outcomes.set(computerId, { kind: 'refused', reason: 'Automate did not report a result for this computer' });
  return outcomes;
}

const after = (date: string | null | undefined, since: Date) => typeof date === 'string' && Date.parse(date) >= since.getTime() - CLOCK_SKEW_MS;

/**
 * Whether one of the scripts was queued on the computer since `since` (a run waiting, running or
 * finished; a skipped one never ran): the look-up before sending a script again whose first send
 * has no known outcome.
 */
export async function scriptQueuedSince(automate: ConnectWiseAutomateClient, computerId: number, scriptIds: readonly number[], since: Date): Promise<boolean> {
  const running = await collect(automate.runningScripts(computerId, { condition: where.in('ScriptId', [...scriptIds]) }));
  if (running.some((run) => after(run.QueuedDate, since))) return true;
  const history = await collect(automate.scriptHistory(computerId, { condition: where.in('ScriptId', [...scriptIds]) }));
  return history.some((entry) => entry.Status !== 'Skipped' && after(entry.StartedDate ?? entry.HistoryDate, since));
}

/**
 * The output of each computer's script that Automate reports failed since it was sent. One listing
 * of the completed runs for all the computers; the history (which holds the outcome) is read only
 * for computers whose run completed.
 */
export async function scriptFailures(automate: ConnectWiseAutomateClient, sent: ReadonlyMap<number, Date>, scriptIds: readonly number[]): Promise<Map<number, string>> {
  const failures = new Map<number, string>();
  const computerIds = [...sent.keys()];
  if (computerIds.length === 0 || scriptIds.length === 0) return failures;
  const completed = new Set<number>();
  for (let start = 0; start < computerIds.length; start += 200) {
    const condition = where.and(where.in('ComputerId', computerIds.slice(start, start + 200)), where.in('ScriptId', [...scriptIds]), where.eq('Status', 'Completed'));
    for await (const run of automate.allRunningScripts({ condition, pageSize: 1_000 })) {
      const since = sent.get(Number(run.ComputerId));
      if (since && after(run.QueuedDate, since)) completed.add(Number(run.ComputerId));
    }
  }
  for (const computerId of completed) {
    const history = await collect(automate.scriptHistory(computerId, { condition: where.in('ScriptId', [...scriptIds]) }));
    const since = sent.get(computerId)!;
    const latest = history.filter((entry) => entry.Status !== 'Skipped' && after(entry.StartedDate ?? entry.HistoryDate, since)).sort((a, b) => b.Id - a.Id)[0];
    if (latest?.Status === 'Failed') failures.set(computerId, latest.Output ?? 'Automate reports the script failed, without output');
  }
  return failures;
}
