/**
 * `npm run bench` runs every benchmark, `npm run bench -- <name>` one. Each prints one line,
 * `bench <name>: key=value ...`; the process exits non-zero only when a run fails (a figure that
 * misses its goal is reported, not failed).
 */
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { runAlertBurst } from './alert-burst.ts';

// One Temporal runtime per process: the benchmarks' workers log errors only, so the output stays one line each.
Runtime.install({ logger: new DefaultLogger('ERROR') });

const BENCHMARKS: Record<string, () => Promise<Record<string, number>>> = {
  'alert-burst': runAlertBurst,
};

function line(name: string, figures: Record<string, number>): string {
  return `bench ${name}: ${Object.entries(figures).map(([key, value]) => `${key}=${Number.isInteger(value) ? value : value.toFixed(2)}`).join(' ')}`;
}

const wanted = process.argv.slice(2).filter((argument) => argument !== '--');
const unknown = wanted.filter((name) => !(name in BENCHMARKS));
if (unknown.length > 0) {
  console.error(`unknown benchmark ${unknown.join(', ')}; known: ${Object.keys(BENCHMARKS).join(', ')}`);
  process.exit(2);
}
let failed = false;
for (const name of wanted.length > 0 ? wanted : Object.keys(BENCHMARKS)) {
  try {
    console.log(line(name, await BENCHMARKS[name]!()));
  } catch (error) {
    failed = true;
    console.error(`bench ${name} failed:`, error);
  }
}
process.exit(failed ? 1 : 0);
