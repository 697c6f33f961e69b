/**
 * `npm run bench [-- <name> ...]`: runs the benchmarks (all without names), printing one line each,
 * `bench <name>: key=value ...`. Exits non-zero when a run fails, not when a figure misses its goal.
 */
import { DefaultLogger, Runtime } from '@temporalio/worker';

/** Each benchmark is a module of its own exporting `run()`, so branches add theirs without touching the others. */
const BENCHMARKS: Record<string, string> = {
  'agent-deploy': './agent-deploy.ts',
};

/** Numbers without units (the unit is in the key), as numbers or already formatted (`1.00`). */
export type Figures = Record<string, number | string>;

// Benchmarks start workers in this process: the SDK's own chatter would bury the result lines.
Runtime.install({ logger: new DefaultLogger('WARN') });

const asked = process.argv.slice(2);
const unknown = asked.filter((name) => !(name in BENCHMARKS));
if (unknown.length > 0) {
  process.stderr.write(`unknown benchmark ${unknown.join(', ')}; known: ${Object.keys(BENCHMARKS).join(', ')}\n`);
  process.exit(2);
}
let failed = false;
for (const name of asked.length > 0 ? asked : Object.keys(BENCHMARKS)) {
  try {
    const { run } = (await import(BENCHMARKS[name]!)) as { run(): Promise<Figures> };
    const figures = await run();
    process.stdout.write(`bench ${name}: ${Object.entries(figures).map(([key, value]) => `${key}=${value}`).join(' ')}\n`);
  } catch (error) {
    failed = true;
    process.stderr.write(`bench ${name} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  }
}
process.exit(failed ? 1 : 0);
