import { startSimulators, type RunningSimulators } from '../simulators/index.ts';
import type { RequestLogEntry } from '../simulators/kit/simulator-app.ts';

/** The whole simulated world on free ports, for one test file. Close it in `afterAll`. */
export function startTestSimulators(): Promise<RunningSimulators> {
  return startSimulators({ acronis: 0, 'connectwise-manage': 0, autotask: 0, automate: 0 });
}

/** Adds a fault through the CONTRACT's control surface, as an outside script would. */
export async function addFault(simulatorUrl: string, fault: Record<string, unknown>): Promise<void> {
  const response = await fetch(`${simulatorUrl}/_sim/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(fault) });
  if (response.status !== 201) throw new Error(`could not add fault: ${response.status} ${await response.text()}`);
}

/** A request as the simulator logged it (`GET /_sim/requests`). */
export type LoggedRequest = RequestLogEntry;

export async function requestLog(simulatorUrl: string): Promise<LoggedRequest[]> {
  return (await fetch(`${simulatorUrl}/_sim/requests`)).json() as Promise<LoggedRequest[]>;
}

/** The most requests the vendor saw in any `windowMs`, by its own clock. */
export function busiestWindow(log: readonly Pick<LoggedRequest, 'at'>[], windowMs: number): number {
  const times = log.map((entry) => Date.parse(entry.at)).sort((a, b) => a - b);
  let busiest = 0;
  for (let first = 0, last = 0; last < times.length; last++) {
    while ((times[last] ?? 0) - (times[first] ?? 0) >= windowMs) first++;
    busiest = Math.max(busiest, last - first + 1);
  }
  return busiest;
}
