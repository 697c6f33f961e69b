import { startSimulators, type RunningSimulators } from '../simulators/index.ts';

/** The whole simulated world on free ports, for one test file. Close it in `afterAll`. */
export function startTestSimulators(): Promise<RunningSimulators> {
  return startSimulators({ acronis: 0, 'connectwise-manage': 0, autotask: 0, automate: 0 });
}

/** Adds a fault through the CONTRACT's control surface, as an outside script would. */
export async function addFault(simulatorUrl: string, fault: Record<string, unknown>): Promise<void> {
  const response = await fetch(`${simulatorUrl}/_sim/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(fault) });
  if (response.status !== 201) throw new Error(`could not add fault: ${response.status} ${await response.text()}`);
}

export async function requestLog(simulatorUrl: string): Promise<{ method: string; path: string; query: string; status: number; at: string; body?: unknown }[]> {
  return (await fetch(`${simulatorUrl}/_sim/requests`)).json() as Promise<{ method: string; path: string; query: string; status: number; at: string }[]>;
}
