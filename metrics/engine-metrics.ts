/**
 * The engine's own counters, one registry per process, rendered in the Prometheus text format on
 * `GET /metrics` (the API's, and the worker's metrics port beside the Temporal SDK's metrics).
 * Every capability counts here, so an operator finds all the engine's figures under one prefix.
 */

type LabelValues<L extends string> = { readonly [K in L]: string };

/** Label values are free text (operations, kinds); the format escapes only these three. */
function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

export class Counter<L extends string> {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly L[];
  readonly #values = new Map<string, { labels: LabelValues<L>; value: number }>();

  constructor(name: string, help: string, labelNames: readonly L[]) {
    this.name = name;
    this.help = help;
    this.labelNames = labelNames;
  }

  inc(labels: LabelValues<L>, by = 1): void {
    if (!(by >= 0)) throw new RangeError(`${this.name} only counts up`);
    const key = this.labelNames.map((name) => labels[name]).join('\u0000');
    const entry = this.#values.get(key);
    if (entry) entry.value += by;
    else this.#values.set(key, { labels: { ...labels }, value: by });
  }

  /** The current value for these labels (0 when never counted). */
  value(labels: LabelValues<L>): number {
    return this.#values.get(this.labelNames.map((name) => labels[name]).join('\u0000'))?.value ?? 0;
  }

  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    for (const { labels, value } of this.#values.values()) {
      const text = this.labelNames.map((name) => `${name}="${escapeLabel(labels[name])}"`).join(',');
      lines.push(`${this.name}${text ? `{${text}}` : ''} ${value}`);
    }
    return lines.join('\n');
  }
}

/**
 * Every vendor call the HTTP transport makes: `system` (acronis, connectwise-manage, autotask,
 * connectwise-automate), `operation` without ids (`GET /api/2/tenants/{id}`), `outcome` `ok` or the
 * failure kind (`auth`, `unavailable`, `timeout` ...).
 */
export const vendorCalls = new Counter('engine_vendor_calls_total', 'Vendor API calls by system, operation and outcome (ok, or the failure kind)', ['system', 'operation', 'outcome']);

/** Usage lines written to the PSA by the billing loop (F4), by PSA kind and record status (written, held, rejected, conflict). */
export const usageLinesWritten = new Counter('engine_usage_lines_written_total', 'Usage lines the billing loop recorded, by PSA and status', ['psa', 'status']);

/** Tickets the alert lifecycles opened in the PSA (F5), by PSA kind. */
export const ticketsCreated = new Counter('engine_tickets_created_total', 'PSA tickets created from Acronis alerts, by PSA', ['psa']);

/** Agent deployments per computer (F6), by action (install, update, uninstall) and outcome (succeeded, failed). */
export const deployments = new Counter('engine_agent_deployments_total', 'Agent deployments per computer, by action and outcome', ['action', 'outcome']);

/** A partner's system refused its credentials at run time (F1.5); the loops that need it pause. */
export const credentialsRejected = new Counter('engine_credentials_rejected_total', 'Activities that found a system refusing the partner credentials, by system', ['system']);

const ENGINE_COUNTERS: readonly Counter<string>[] = [vendorCalls, usageLinesWritten, ticketsCreated, deployments, credentialsRejected];

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** The engine's counters in the Prometheus text exposition format. */
export function renderEngineMetrics(): string {
  return `${ENGINE_COUNTERS.map((counter) => counter.render()).join('\n')}\n`;
}
