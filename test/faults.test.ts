import { expect, inject, it } from 'vitest';
import { reportLines, runFaultSuite, SHORT_PLAN } from '../faults/suite.ts';

/**
 * The short fault suite (`npm run faults -- --short`): two worker processes (one killed once with
 * SIGKILL and started again), ConnectWise Manage away for 10 s behind an HTML error page, and one
 * lost answer for every kind of create, through a billing run over 20 customers, new tenants, a few
 * alerts and a small deployment. The vendors' APIs must show every piece of work done exactly once.
 */
it('loses nothing, writes nothing twice and gets nothing wrong under worker kills, an outage and lost answers', { timeout: 300_000 }, async () => {
  const figures = await runFaultSuite(SHORT_PLAN, {
    servers: { postgresAdminUrl: inject('postgresAdminUrl'), temporalAddress: inject('temporalAddress') },
    log: (line) => console.log(line),
  });
  const { lines, examples } = reportLines(figures);
  console.log([...lines, ...examples].join('\n'));

  expect(figures.run).toMatchObject({ worker_kills: 1, drained: true, lost_answers: figures.run.lost_answers_planned });
  for (const area of [figures.usage, figures.tickets, figures.agents, figures.tenants]) {
    expect({ lost: area.lost, duplicated: area.duplicated, wrong: area.wrong, examples: area.examples }).toEqual({ lost: 0, duplicated: 0, wrong: 0, examples: [] });
  }
  // A line whose first figure was not written before it changed is written once, with the second.
  expect(figures.usage.counts.writes).toBeGreaterThanOrEqual(figures.usage.expected);
  expect(figures.tickets.counts).toEqual({ tickets: SHORT_PLAN.sizes.alerts });
  expect(figures.agents.counts).toEqual({ agents: SHORT_PLAN.sizes.computers, script_runs: SHORT_PLAN.sizes.computers });
});
