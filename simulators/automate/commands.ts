import type { Hono } from 'hono';
import { z } from 'zod';
import { AutomateHttpError, bindJson, caseless, idParam, notFound, numericId, reference } from './http.ts';
import { requireComputer } from './inventory.ts';
import { listResponse } from './listing.ts';
import { isoOf, type AutomateStore, type CommandExecutionRecord, type ComputerRecord } from './store.ts';

/** The agent commands a backup integration uses, with Automate's ids. */
export const COMMANDS = [
  { Id: 1, Name: 'Update Agent', Description: 'Updates the Automate agent to the server version.', Level: 1 },
  { Id: 2, Name: 'Execute Command', Description: "Runs a command line on the agent. Parameter: '<program>!!! <arguments>'.", Level: 1 },
  { Id: 123, Name: 'Resend Inventory', Description: 'Asks the agent to send its full inventory again.', Level: 1 },
] as const;

const commandExecuteBody = z.object({
  ComputerId: numericId.optional(),
  Command: reference,
  Parameters: z.array(z.string()).optional(),
});

interface CommandEffect {
  status: 'Success' | 'Failed';
  output: string;
}

/** What the simulated agent answers; `exit <n>` with n ≠ 0 is how a test asks for a failure. */
function runCommand(commandId: number, parameters: string[], computer: ComputerRecord, nowMs: number): CommandEffect {
  if (commandId === 1) return { status: 'Success', output: 'The agent is up to date.' };
  if (commandId === 123) {
    computer.lastInventoryMs = nowMs;
    return { status: 'Success', output: 'Inventory sent.' };
  }
  const match = /^(.+?)!!!\s?([\s\S]*)$/.exec(parameters[0] ?? '');
  if (!match) return { status: 'Failed', output: "Invalid parameters: expected '<program>!!! <arguments>'." };
  const commandLine = match[2] ?? '';
  const exitCode = Number(/\bexit(?:\s+\/b)?\s+(\d+)/i.exec(commandLine)?.[1] ?? 0);
  if (exitCode !== 0) return { status: 'Failed', output: `The command exited with code ${exitCode}.` };
  return { status: 'Success', output: /\bhostname\b/i.test(commandLine) ? computer.name : '' };
}

/** Pending until the agent picks the command up, Executing, then Success or Failed with Output. */
export class CommandQueue {
  readonly #store: AutomateStore;
  /** Executions an agent is about to pick up, so a quick offline/online flap does not run one twice. */
  readonly #pickingUp = new Set<number>();

  constructor(store: AutomateStore) {
    this.#store = store;
  }

  issue(computer: ComputerRecord, commandId: number, parameters: string[]): CommandExecutionRecord {
    const store = this.#store;
    const execution: CommandExecutionRecord = { id: store.nextId('command'), computerId: computer.id, commandId, parameters, status: 'Pending', output: null, fasTalk: false, issuedMs: store.nowMs(), finishedMs: null };
    store.commandExecutions.set(execution.id, execution);
    if (computer.online) this.#pickUpSoon(execution);
    return execution;
  }

  resumeQueued(computerId: number): void {
    for (const execution of this.#store.commandExecutions.values()) if (execution.computerId === computerId && execution.status === 'Pending') this.#pickUpSoon(execution);
  }

  reset(): void {
    this.#pickingUp.clear();
  }

  /** The agent checks in within half the command's duration, then runs it for the other half. */
  #pickUpSoon(execution: CommandExecutionRecord): void {
    if (this.#pickingUp.has(execution.id)) return;
    this.#pickingUp.add(execution.id);
    const store = this.#store;
    const half = Math.floor(store.settings.commandDurationMs / 2);
    const pickUpMs = store.nowMs() + half;
    store.at(pickUpMs, () => {
      this.#pickingUp.delete(execution.id);
      const computer = store.computers.get(execution.computerId);
      if (!computer?.online) return;
      execution.status = 'Executing';
      const finishMs = pickUpMs + store.settings.commandDurationMs - half;
      store.at(finishMs, () => {
        const effect = runCommand(execution.commandId, execution.parameters, computer, finishMs);
        Object.assign(execution, { status: effect.status, output: effect.output, finishedMs: finishMs });
      });
    });
  }
}

function renderExecution(execution: CommandExecutionRecord) {
  return {
    Id: execution.id,
    ComputerId: execution.computerId,
    Command: COMMANDS.find((command) => command.Id === execution.commandId) ?? { Id: execution.commandId },
    Status: execution.status,
    Parameters: execution.parameters,
    Output: execution.output,
    Fastalk: execution.fasTalk,
    DateIssued: isoOf(execution.issuedMs),
    DateFinished: execution.finishedMs === null ? null : isoOf(execution.finishedMs),
  };
}

export function registerCommandRoutes(app: Hono, store: AutomateStore, queue: CommandQueue): void {
  app.get(caseless('/Commands'), (c) => listResponse(c, COMMANDS.map((command) => ({ ...command }))));
  app.get(caseless('/Commands/:commandId'), (c) => {
    const command = COMMANDS.find((candidate) => candidate.Id === idParam(c, 'commandId'));
    if (!command) throw notFound('Command');
    return c.json(command);
  });

  const executionsOf = (computerId: number) => [...store.commandExecutions.values()].filter((execution) => execution.computerId === computerId);
  app.post(caseless('/Computers/:computerId/CommandExecute'), async (c) => {
    const computer = requireComputer(store, idParam(c, 'computerId'));
    const body = await bindJson(c, commandExecuteBody);
    if (!COMMANDS.some((command) => command.Id === body.Command.Id)) throw new AutomateHttpError(400, `Command ${body.Command.Id} was not found.`);
    return c.json(renderExecution(queue.issue(computer, body.Command.Id, body.Parameters ?? [])));
  });
  app.get(caseless('/Computers/:computerId/CommandExecute'), (c) => listResponse(c, executionsOf(requireComputer(store, idParam(c, 'computerId')).id).map(renderExecution)));
  app.get(caseless('/Computers/:computerId/CommandHistory'), (c) => {
    const computer = requireComputer(store, idParam(c, 'computerId'));
    return listResponse(c, executionsOf(computer.id).filter((execution) => execution.finishedMs !== null).map(renderExecution));
  });
}
