/** What every periodic capability loop (provisioning discovery, the agents scan) keeps, and carries across continue-as-new. */
export interface PeriodicLoopState<Summary> {
  partnerId: string;
  passes: number;
  lastPassAt: string | null;
  lastPass: Summary | null;
  nextPassAt: string | null;
  /** The last pass's failure when it could not be retried (credentials refused ...); cleared by a good pass. */
  lastError: string | null;
  previousRuns: number;
  stopReason: string | null;
}

/** A periodic loop's one input: versioned, JSON-safe; a fresh start is `{ v: 1, partnerId }`. */
export interface PeriodicLoopInput<Summary> {
  v: 1;
  partnerId: string;
  carried?: PeriodicLoopState<Summary>;
  /** "Sync now" arrived but had not run when the previous run continued as new. */
  forcePending?: boolean;
  /** A pass was due (a configuration change) but had not run when the previous run continued as new. */
  passPending?: boolean;
  /** Signals one run takes before it continues as new (default 1,000); tests lower it. */
  signalsPerRun?: number;
}

export type PeriodicPassOutcome<Summary> = { status: 'done'; summary: Summary } | { status: 'off'; reason: string };
