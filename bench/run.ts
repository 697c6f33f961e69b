/**
 * `npm run bench [-- <name> ...]`: runs the named benchmarks (all of them without a name) one after
 * the other and prints one line each, `bench <name>: key=value ...` (CONTRACT.md). Exits non-zero
 * only when a run throws or a name is unknown, never because a figure misses its goal.
 */
import { DefaultLogger, Runtime } from '@temporalio/worker';
import type { Benchmark, Figures } from './benchmark.ts';

// The figures are the output: the SDK logs warnings and errors only.
Runtime.install({ logger: new DefaultLogger('WARN') });

/** One line per benchmark: its module is bench/<name>.ts and exports `run` (a `Benchmark`). */
const BENCHMARKS: Record<string, () => Promise<{ run: Benchmark }>> = {
  fuzz: () => import('./fuzz.ts'),
  discovery: () => import('./discovery.ts'),
  'agent-deploy': () => import('./agent-deploy.ts'),
  'usage-pass': async () => ({ run: (await import('./usage-pass.ts')).usagePass }),
  'alert-burst': async () => ({ run: (await import('./alert-burst.ts')).runAlertBurst }),
  'billing-limits': () => import('./billing-limits.ts'),
  scale: () => import('./scale.ts'),
};

/** Whole numbers as they are, others with two decimals (`writes_per_changed=1.00` reads as the goal does). */
function figure(value: number | string): string {
  return typeof value === 'number' && !Number.isInteger(value) ? value.toFixed(2) : String(value);
}

export function formatFigures(name: string, figures: Figures): string {
  return `bench ${name}: ${Object.entries(figures)
    .map(([key, value]) => `${key}=${figure(value)}`)
    .join(' ')}`;
}

async function main(names: string[]): Promise<number> {
  const unknown = names.filter((name) => !(name in BENCHMARKS));
  if (unknown.length > 0) {
    console.error(`unknown benchmark ${unknown.join(', ')}; there are: ${Object.keys(BENCHMARKS).join(', ')}`);
    return 2;
  }
  let failed = 0;
  for (const name of names.length > 0 ? names : Object.keys(BENCHMARKS)) {
    try {
      const { run } = await BENCHMARKS[name]!();
      console.log(formatFigures(name, await run()));
    } catch (error) {
      failed++;
      console.error(`bench ${name}: failed:`, error);
    }
  }
  return failed === 0 ? 0 : 1;
}

// Exit even when a benchmark left a handle open: the figures are printed.
process.exit(await main(process.argv.slice(2)));
