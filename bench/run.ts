/**
 * `npm run bench [-- <name> ...]`: runs the benchmarks (all when none is named) and prints one line
 * each, `bench <name>: key=value ...`. Exits non-zero when a run fails, not when a figure misses its
 * goal. Each benchmark lives in its own file and registers here in one line.
 */
import { usagePass } from './usage-pass.ts';

type Benchmark = () => Promise<Record<string, number>>;

const BENCHMARKS: Record<string, Benchmark> = {
  'usage-pass': usagePass,
};

function figure(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(2);
}

const asked = process.argv.slice(2).filter((arg) => arg !== '--');
const names = asked.length > 0 ? asked : Object.keys(BENCHMARKS);
let failed = false;
for (const name of names) {
  const benchmark = BENCHMARKS[name];
  if (!benchmark) {
    console.error(`bench ${name}: no such benchmark (known: ${Object.keys(BENCHMARKS).join(', ')})`);
    failed = true;
    continue;
  }
  try {
    const figures = await benchmark();
    console.log(`bench ${name}: ${Object.entries(figures).map(([key, value]) => `${key}=${figure(value)}`).join(' ')}`);
  } catch (error) {
    console.error(`bench ${name}: failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    failed = true;
  }
}
process.exit(failed ? 1 : 0);
