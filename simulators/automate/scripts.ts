import type { Context, Hono } from 'hono';
import { z } from 'zod';
import type { AcronisAgentHost } from '../world.ts';
import { PLUGIN_SCRIPTS, renderScript, runPluginScript, SCRIPT_FOLDERS, type PluginScript } from './acronis-plugin.ts';
import { AutomateHttpError, bindJson, caseless, idParam, isoDate, notFound, numericId } from './http.ts';
import { requireComputer } from './inventory.ts';
import { listResponse } from './listing.ts';
import { isoOf, type AutomateStore, type ComputerRecord, type ScheduledScriptRecord, type ScriptRunRecord } from './store.ts';

/** Mixing the two parameter shapes drops them silently, as ASP.NET binding does (a known gotcha). */
const pipeParameters = z.string().optional().catch(undefined);
const keyValueParameters = z
  .array(z.object({ Key: z.string(), Value: z.union([z.string(), z.number(), z.boolean()]).nullable().optional() }))
  .optional()
  .catch(undefined);

const scheduledScriptBody = z.object({
  ScriptId: numericId,
  ComputerId: numericId.optional(),
  Parameters: pipeParameters,
  ScheduleType: z.number().int().optional(),
  EffectiveStartDate: isoDate.nullable().optional(),
  NextRun: isoDate.nullable().optional(),
  Priority: z.number().int().optional(),
  SkipOffline: z.boolean().optional(),
  OfflineOnly: z.boolean().optional(),
  WakeOffline: z.boolean().optional(),
});

const batchBody = z
  .object({
    EntityType: z.union([z.number().int(), z.string()]),
    EntityIds: z.array(numericId).min(1),
    ScriptId: numericId.optional(),
    ScriptGuid: z.string().optional(),
    Parameters: keyValueParameters,
    StartDate: isoDate.nullable().optional(),
    OfflineActionFlags: z.object({ SkipsOfflineAgents: z.boolean().optional(), WakesOfflineAgents: z.boolean().optional(), OnlyRunsOnOfflineAgents: z.boolean().optional() }).optional(),
    Priority: z.number().int().optional(),
  })
  .refine((body) => body.ScriptId !== undefined || body.ScriptGuid !== undefined, { message: 'ScriptId or ScriptGuid is required', path: ['ScriptId'] });

/** [INFER] Reason codes of an unsuccessful batch result. */
const REASON = { entityNotFound: 1, scriptNotFound: 2, skippedOffline: 3, skippedOnline: 4 } as const;

interface OfflineHandling {
  skipOffline: boolean;
  offlineOnly: boolean;
}

/** `"name=value|name=value|"` → a map; a pair without `=` names an empty value. */
export function parsePipeParameters(parameters: string | undefined): Record<string, string> {
  const parsed: Record<string, string> = {};
  for (const pair of (parameters ?? '').split('|')) {
    if (pair.trim() === '') continue;
    const split = pair.indexOf('=');
    parsed[(split < 0 ? pair : pair.slice(0, split)).trim()] = split < 0 ? '' : pair.slice(split + 1);
  }
  return parsed;
}

const pipeString = (parameters: Record<string, string>): string => Object.entries(parameters).map(([name, value]) => `${name}=${value}|`).join('');

/**
 * Moves script runs through their life: Scheduled (not yet due), Pending (due, agent offline),
 * Running, Completed with an outcome in ScriptHistory.
 */
export class ScriptRunner {
  readonly #store: AutomateStore;
  readonly #agents: AcronisAgentHost;

  constructor(store: AutomateStore, agents: AcronisAgentHost) {
    this.#store = store;
    this.#agents = agents;
  }

  /** Queues a run; a skipped one is recorded as Completed/Skipped and its reason returned. */
  queue(script: PluginScript, computer: ComputerRecord, parameters: Record<string, string>, options: OfflineHandling & { startAtMs: number; scheduledScriptId: number | null }): { run: ScriptRunRecord; skipped?: { reason: string; code: number } } {
    const store = this.#store;
    const now = store.nowMs();
    const run: ScriptRunRecord = {
      id: store.nextId('run'),
      scriptId: script.Id,
      computerId: computer.id,
      scheduledScriptId: options.scheduledScriptId,
      parameters,
      status: 'Scheduled',
      dueMs: Math.max(options.startAtMs, now),
      queuedMs: now,
      startedMs: null,
      finishedMs: null,
      outcome: null,
      output: null,
    };
    store.runs.set(run.id, run);
    const skipped = options.skipOffline && !computer.online
      ? { reason: 'The agent is offline and the script skips offline agents.', code: REASON.skippedOffline }
      : options.offlineOnly && computer.online
        ? { reason: 'The agent is online and the script runs only on offline agents.', code: REASON.skippedOnline }
        : undefined;
    if (skipped) {
      Object.assign(run, { status: 'Completed', finishedMs: now, outcome: 'Skipped', output: skipped.reason });
      return { run, skipped };
    }
    if (run.dueMs <= now) this.#begin(run, now);
    else store.at(run.dueMs, () => this.#begin(run, run.dueMs));
    return { run };
  }

  /** The agent checked in: whatever waited for it starts now. */
  resumeQueued(computerId: number): void {
    const now = this.#store.nowMs();
    for (const run of this.#store.runs.values()) if (run.computerId === computerId && run.status === 'Pending') this.#begin(run, now);
  }

  cancelSchedule(scheduledScriptId: number): void {
    for (const run of this.#store.runs.values()) {
      if (run.scheduledScriptId === scheduledScriptId && (run.status === 'Scheduled' || run.status === 'Pending')) this.#store.runs.delete(run.id);
    }
  }

  /** `atMs` is when this step is due, so steps chained within one clock advance keep their spacing. */
  #begin(run: ScriptRunRecord, atMs: number): void {
    const store = this.#store;
    if (!store.runs.has(run.id) || run.status === 'Running' || run.status === 'Completed') return;
    const computer = store.computers.get(run.computerId);
    if (!computer) {
      Object.assign(run, { status: 'Completed', finishedMs: atMs, outcome: 'Failed', output: 'The computer no longer exists.' });
      return;
    }
    if (!computer.online) {
      run.status = 'Pending';
      return;
    }
    run.status = 'Running';
    run.startedMs = atMs;
    const finishMs = atMs + store.settings.scriptDurationMs;
    store.at(finishMs, () => this.#finish(run, finishMs));
  }

  #finish(run: ScriptRunRecord, atMs: number): void {
    const store = this.#store;
    const script = PLUGIN_SCRIPTS.find((candidate) => candidate.Id === run.scriptId);
    const computer = store.computers.get(run.computerId);
    const effect = script && computer ? runPluginScript(script, this.#store, computer, run.parameters, this.#agents) : { outcome: 'Failed' as const, output: 'The computer no longer exists.' };
    Object.assign(run, { status: 'Completed', finishedMs: atMs, outcome: effect.outcome, output: effect.output });
  }
}

function findScript(id: number | undefined, guid: string | undefined): PluginScript | undefined {
  return PLUGIN_SCRIPTS.find((script) => (id !== undefined && script.Id === id) || (guid !== undefined && script.GUID.toLowerCase() === guid.toLowerCase()));
}

function renderSchedule(schedule: ScheduledScriptRecord) {
  return {
    Id: schedule.id,
    ScriptId: schedule.scriptId,
    ComputerId: schedule.computerId,
    ClientId: 0,
    LocationId: 0,
    GroupId: 0,
    SearchId: 0,
    Parameters: schedule.parameters,
    ScheduleType: schedule.scheduleType,
    EffectiveStartDate: isoOf(schedule.nextRunMs),
    NextRun: isoOf(schedule.nextRunMs),
    Priority: schedule.priority,
    SkipOffline: schedule.skipOffline,
    OfflineOnly: schedule.offlineOnly,
    WakeOffline: schedule.wakeOffline,
    DateAdded: isoOf(schedule.createdMs),
  };
}

function scriptName(id: number): string | null {
  return PLUGIN_SCRIPTS.find((script) => script.Id === id)?.Name ?? null;
}

/** The fields a running script and a history entry share. */
function runIdentity(store: AutomateStore, run: ScriptRunRecord) {
  return {
    Id: run.id,
    ScriptId: run.scriptId,
    ScriptName: scriptName(run.scriptId),
    ComputerId: run.computerId,
    ComputerName: store.computers.get(run.computerId)?.name ?? null,
  };
}

function renderRunningScript(store: AutomateStore, run: ScriptRunRecord) {
  return {
    ...runIdentity(store, run),
    ScheduledScriptId: run.scheduledScriptId,
    Status: run.status,
    QueuedDate: isoOf(run.queuedMs),
    StartedDate: run.startedMs === null ? null : isoOf(run.startedMs),
    CompletedDate: run.finishedMs === null ? null : isoOf(run.finishedMs),
  };
}

function renderHistory(store: AutomateStore, run: ScriptRunRecord) {
  return {
    ...runIdentity(store, run),
    Parameters: pipeString(run.parameters),
    StartedDate: run.startedMs === null ? null : isoOf(run.startedMs),
    HistoryDate: isoOf(run.finishedMs ?? run.queuedMs),
    Status: run.outcome,
    Output: run.output,
  };
}

/** Scheduled, not yet due runs belong to ScheduledScripts, not to the running-scripts view. */
const isVisibleAsRunning = (run: ScriptRunRecord): boolean => run.status !== 'Scheduled' && run.outcome !== 'Skipped';

export function registerScriptRoutes(app: Hono, store: AutomateStore, runner: ScriptRunner): void {
  app.get(caseless('/Scripts'), (c) => listResponse(c, PLUGIN_SCRIPTS.map(renderScript)));
  app.get(caseless('/ScriptFolders'), (c) => listResponse(c, SCRIPT_FOLDERS.map((folder) => ({ ...folder }))));

  app.get(caseless('/Computers/:computerId/ScheduledScripts'), (c) => {
    const computer = requireComputer(store, idParam(c, 'computerId'));
    return listResponse(c, [...store.schedules.values()].filter((schedule) => schedule.computerId === computer.id).map(renderSchedule));
  });
  app.get(caseless('/Computers/:computerId/ScheduledScripts/:entityId'), (c) => {
    const computer = requireComputer(store, idParam(c, 'computerId'));
    const schedule = store.schedules.get(idParam(c, 'entityId'));
    if (!schedule || schedule.computerId !== computer.id) throw notFound('Scheduled script');
    return c.json(renderSchedule(schedule));
  });
  app.post(caseless('/Computers/:computerId/ScheduledScripts'), async (c) => {
    const computer = requireComputer(store, idParam(c, 'computerId'));
    const body = await bindJson(c, scheduledScriptBody);
    const script = findScript(body.ScriptId, undefined);
    if (!script) throw new AutomateHttpError(400, `Script ${body.ScriptId} was not found.`);
    const nextRunMs = Date.parse(body.NextRun ?? body.EffectiveStartDate ?? '') || store.nowMs();
    const schedule = saveSchedule(store, script, computer, {
      parameters: body.Parameters ?? '',
      scheduleType: body.ScheduleType ?? 1,
      priority: body.Priority ?? 15,
      skipOffline: body.SkipOffline ?? false,
      offlineOnly: body.OfflineOnly ?? false,
      wakeOffline: body.WakeOffline ?? false,
      nextRunMs,
    });
    runner.queue(script, computer, parsePipeParameters(body.Parameters), { skipOffline: schedule.skipOffline, offlineOnly: schedule.offlineOnly, startAtMs: nextRunMs, scheduledScriptId: schedule.id });
    return c.json(renderSchedule(schedule));
  });

  app.get(caseless('/Scripting/ScriptSchedules'), (c) => listResponse(c, [...store.schedules.values()].map(renderSchedule)));
  app.delete(caseless('/Scripting/ScriptSchedules/:scheduledId'), (c) => {
    const id = idParam(c, 'scheduledId');
    if (!store.schedules.delete(id)) throw notFound('Scheduled script');
    runner.cancelSchedule(id);
    return c.body(null, 204);
  });

  const batch = (scheduled: boolean) => async (c: Context) => {
    const body = await bindJson(c, batchBody);
    if (!(body.EntityType === 1 || String(body.EntityType).toLowerCase() === 'computer')) {
      throw new AutomateHttpError(400, `EntityType '${body.EntityType}' is not supported here; send Computer (1) with computer ids.`);
    }
    const script = findScript(body.ScriptId, body.ScriptGuid);
    const parameters = Object.fromEntries((body.Parameters ?? []).map(({ Key, Value }) => [Key, Value === null || Value === undefined ? '' : String(Value)]));
    const startAtMs = Date.parse(body.StartDate ?? '') || store.nowMs();
    const offline = { skipOffline: body.OfflineActionFlags?.SkipsOfflineAgents ?? false, offlineOnly: body.OfflineActionFlags?.OnlyRunsOnOfflineAgents ?? false };
    const results = body.EntityIds.map((entityId) => {
      const result = (reasonCode: number, message: string) => ({ EntityId: entityId, ResultDetails: { ResultStatus: reasonCode === 0 ? 0 : 1, ReasonCode: reasonCode, Message: message } });
      if (!script) return result(REASON.scriptNotFound, `Script ${body.ScriptId ?? body.ScriptGuid} was not found.`);
      const computer = store.computers.get(entityId);
      if (!computer) return result(REASON.entityNotFound, `Computer ${entityId} was not found.`);
      const schedule = scheduled
        ? saveSchedule(store, script, computer, { parameters: pipeString(parameters), scheduleType: 1, priority: body.Priority ?? 12, ...offline, wakeOffline: false, nextRunMs: startAtMs })
        : undefined;
      const { skipped } = runner.queue(script, computer, parameters, { ...offline, startAtMs, scheduledScriptId: schedule?.id ?? null });
      return skipped ? result(skipped.code, skipped.reason) : result(0, scheduled ? 'The script was scheduled.' : 'The script was queued.');
    });
    return c.json({ ScriptResults: results, ContainsUnsuccessfulResults: results.some((result) => result.ResultDetails.ResultStatus !== 0) });
  };
  app.post(caseless('/Batch/ScriptExecute'), batch(false));
  app.post(caseless('/Batch/ScriptSchedule'), batch(true));

  app.get(caseless('/Computers/:computerId/RunningScripts'), (c) => {
    const computer = requireComputer(store, idParam(c, 'computerId'));
    return listResponse(c, [...store.runs.values()].filter((run) => run.computerId === computer.id && isVisibleAsRunning(run)).map((run) => renderRunningScript(store, run)));
  });
  app.get(caseless('/Scripting/RunningScripts'), (c) => listResponse(c, [...store.runs.values()].filter(isVisibleAsRunning).map((run) => renderRunningScript(store, run))));
  app.get(caseless('/Computers/:computerId/ScriptHistory'), (c) => {
    const computer = requireComputer(store, idParam(c, 'computerId'));
    return listResponse(c, [...store.runs.values()].filter((run) => run.computerId === computer.id && run.outcome !== null).map((run) => renderHistory(store, run)));
  });
}

function saveSchedule(store: AutomateStore, script: PluginScript, computer: ComputerRecord, fields: Omit<ScheduledScriptRecord, 'id' | 'scriptId' | 'computerId' | 'createdMs'>): ScheduledScriptRecord {
  const schedule: ScheduledScriptRecord = { id: store.nextId('schedule'), scriptId: script.Id, computerId: computer.id, createdMs: store.nowMs(), ...fields };
  store.schedules.set(schedule.id, schedule);
  return schedule;
}
