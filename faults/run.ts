/**
 * `npm run faults [-- --customers 200 --alerts 300 ...]`: the fault suite (faults/suite.ts) with the
 * issue's figures unless told otherwise; `--short` starts from the version `npm test` runs. Prints
 * the figures on stdout (one line per area, `faults <area>: key=value ...`, then `faults lost: n`,
 * duplicated, wrong and `faults drain_seconds: s`; progress on stderr), and exits 1 on anything
 * lost, duplicated or wrong, 2 when the run itself failed.
 */
import { parseArgs } from 'node:util';
import type { SimulatedVendor } from '../simulators/ports.ts';
import { FULL_PLAN, reportLines, runFaultSuite, SHORT_PLAN, type FaultPlan } from './suite.ts';

const USAGE = `npm run faults [-- options]
  --short                    start from the short version npm test runs (one kill, one outage, 20 customers)
  --customers N              billing customers, split over the two partners (${FULL_PLAN.sizes.customers})
  --new-customers N          companies the engine makes tenants for (${FULL_PLAN.sizes.newCustomers})
  --alerts N                 alerts raised in one burst (${FULL_PLAN.sizes.alerts})
  --computers N              computers in the agent deployment (${FULL_PLAN.sizes.computers})
  --kill-every S             seconds between SIGKILLs of one worker (${FULL_PLAN.killEverySeconds})
  --kill-for S               seconds the kills go on (${FULL_PLAN.killForSeconds})
  --outage S                 seconds each vendor outage lasts (${FULL_PLAN.outages[0]!.seconds})
  --lost-answers N           answers each kind of create loses after committing (${FULL_PLAN.lostAnswersPerCreate})
  --change-usage-at S        when half the usage lines change (${FULL_PLAN.changeUsageAtSeconds})
  --drain-deadline S         how long the vendors may take after the faults (${FULL_PLAN.drainDeadlineSeconds})
  --vendor-timeout S         the engine's patience with a vendor (${FULL_PLAN.vendorTimeoutSeconds})`;

function planFromArguments(argv: string[]): FaultPlan {
  const { values } = parseArgs({
    args: argv,
    options: {
      short: { type: 'boolean' },
      help: { type: 'boolean' },
      customers: { type: 'string' },
      'new-customers': { type: 'string' },
      alerts: { type: 'string' },
      computers: { type: 'string' },
      'kill-every': { type: 'string' },
      'kill-for': { type: 'string' },
      outage: { type: 'string' },
      'lost-answers': { type: 'string' },
      'change-usage-at': { type: 'string' },
      'drain-deadline': { type: 'string' },
      'vendor-timeout': { type: 'string' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const base = values.short ? SHORT_PLAN : FULL_PLAN;
  const number = (name: keyof typeof values, fallback: number, min = 0): number => {
    const text = values[name];
    if (text === undefined) return fallback;
    const parsed = Number(text);
    if (!Number.isInteger(parsed) || parsed < min) throw new Error(`--${name} must be a whole number ≥ ${min}, not ${String(text)}`);
    return parsed;
  };
  const outageSeconds = number('outage', base.outages[0]?.seconds ?? 0, 1);
  return {
    ...base,
    sizes: {
      ...base.sizes,
      customers: number('customers', base.sizes.customers, 2),
      newCustomers: number('new-customers', base.sizes.newCustomers),
      alerts: number('alerts', base.sizes.alerts),
      computers: number('computers', base.sizes.computers),
    },
    killEverySeconds: number('kill-every', base.killEverySeconds, 1),
    killForSeconds: number('kill-for', base.killForSeconds),
    outages: base.outages.map((outage) => ({ ...outage, seconds: outageSeconds })),
    lostAnswersPerCreate: number('lost-answers', base.lostAnswersPerCreate),
    changeUsageAtSeconds: number('change-usage-at', base.changeUsageAtSeconds),
    drainDeadlineSeconds: number('drain-deadline', base.drainDeadlineSeconds, 1),
    vendorTimeoutSeconds: number('vendor-timeout', base.vendorTimeoutSeconds, 1),
  };
}

function describe(plan: FaultPlan): string {
  const outages = plan.outages.map((outage) => `${outage.vendor as SimulatedVendor} ${outage.seconds} s from ${outage.startSeconds} s`).join(', ');
  return `${plan.sizes.customers} customers, ${plan.sizes.newCustomers} new, ${plan.sizes.alerts} alerts, ${plan.sizes.computers} computers; a worker killed every ${plan.killEverySeconds} s for ${plan.killForSeconds} s; outages: ${outages}; ${plan.lostAnswersPerCreate} lost answer(s) per kind of create`;
}

async function main(): Promise<number> {
  let plan: FaultPlan;
  try {
    plan = planFromArguments(process.argv.slice(2));
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    return 2;
  }
  console.error(`[faults] ${describe(plan)}`);
  try {
    const { lines, examples, failed } = reportLines(await runFaultSuite(plan, { log: (line) => console.error(line) }));
    for (const example of examples) console.error(`[faults] ${example}`);
    for (const line of lines) console.log(line);
    return failed ? 1 : 0;
  } catch (error) {
    console.error('faults: the run failed:', error);
    return 2;
  }
}

// Exit even when a handle is left open: the figures are printed.
process.exit(await main());
