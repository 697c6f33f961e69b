/**
 * What a benchmark reads from workflow histories: the Temporal actions they hold, and how late the
 * periodic loops ran their passes.
 *
 * Actions are counted as Temporal Cloud bills them, as far as a history shows them:
 * - a workflow start (also the new run of a continue-as-new), a signal received, an update accepted;
 * - an activity scheduled, and each retry of it (the attempt its start event carries);
 * - a timer started;
 * - local activities: one per workflow task that recorded any;
 * - a search-attribute upsert, a memo upsert.
 * Not in a history, so not counted: queries, heartbeats, the sender's side of a signal (the
 * receiver's event counts it once), patch markers (not billed).
 */
import type { temporal } from '@temporalio/proto';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
type Seconds = number | { toNumber(): number } | null | undefined;
type Timestamp = { seconds?: Seconds; nanos?: number | null } | null | undefined;

/** `temporal.api.enums.v1.EventType`, the numbers a fetched history carries. */
const EVENT = {
  WORKFLOW_EXECUTION_STARTED: 1,
  WORKFLOW_TASK_COMPLETED: 7,
  ACTIVITY_TASK_SCHEDULED: 10,
  ACTIVITY_TASK_STARTED: 11,
  TIMER_STARTED: 17,
  TIMER_FIRED: 18,
  MARKER_RECORDED: 25,
  WORKFLOW_EXECUTION_SIGNALED: 26,
  UPSERT_WORKFLOW_SEARCH_ATTRIBUTES: 40,
  WORKFLOW_EXECUTION_UPDATE_ACCEPTED: 41,
  WORKFLOW_PROPERTIES_MODIFIED: 46,
} as const;

const LOCAL_ACTIVITY_MARKER = 'core_local_activity';

function secondsOf(value: Seconds): number {
  if (value === null || value === undefined) return 0;
  return typeof value === 'number' ? value : value.toNumber();
}

/** Milliseconds since the epoch (a Timestamp) or of a span (a Duration). */
export function millisOf(value: Timestamp): number {
  if (!value) return 0;
  return secondsOf(value.seconds) * 1000 + Math.floor((value.nanos ?? 0) / 1e6);
}

export const timeOf = (event: HistoryEvent): number => millisOf(event.eventTime as Timestamp);

/** The span the counting covers, [fromMs, toMs), by the events' times. */
export interface Span {
  fromMs: number;
  toMs: number;
}

const within = (event: HistoryEvent, span: Span): boolean => {
  const at = timeOf(event);
  return at >= span.fromMs && at < span.toMs;
};

/** Actions of one history (one run) whose events fall in `span`, by kind. */
export function countActions(events: readonly HistoryEvent[], span: Span): Record<string, number> {
  const counts: Record<string, number> = {};
  const add = (kind: string, n = 1) => {
    if (n > 0) counts[kind] = (counts[kind] ?? 0) + n;
  };
  let localActivitiesInTask = false;
  for (const event of events) {
    const type = Number(event.eventType);
    // Local activity markers are written with the workflow task that completes them.
    if (type === EVENT.WORKFLOW_TASK_COMPLETED) localActivitiesInTask = false;
    if (!within(event, span)) continue;
    switch (type) {
      case EVENT.WORKFLOW_EXECUTION_STARTED:
        add('starts');
        break;
      case EVENT.WORKFLOW_EXECUTION_SIGNALED:
        add('signals');
        break;
      case EVENT.WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
        add('updates');
        break;
      case EVENT.ACTIVITY_TASK_SCHEDULED:
        add('activities');
        break;
      case EVENT.ACTIVITY_TASK_STARTED:
        add('activity_retries', (event.activityTaskStartedEventAttributes?.attempt ?? 1) - 1);
        break;
      case EVENT.TIMER_STARTED:
        add('timers');
        break;
      case EVENT.MARKER_RECORDED:
        if (event.markerRecordedEventAttributes?.markerName === LOCAL_ACTIVITY_MARKER && !localActivitiesInTask) {
          localActivitiesInTask = true;
          add('local_activities');
        }
        break;
      case EVENT.UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
      case EVENT.WORKFLOW_PROPERTIES_MODIFIED:
        add('upserts');
        break;
    }
  }
  return counts;
}

export function totalActions(counts: Record<string, number>): number {
  return Object.values(counts).reduce((sum, n) => sum + n, 0);
}

/** One timer-driven pass of a loop: when its timer said it was due, and when its first activity started (unknown while it runs: its start is written when it ends). */
export interface Pass {
  dueMs: number;
  /** The timer's duration: the loop's interval. */
  intervalMs: number;
  /** The pass's first activity: its `activityId`, to find it among the pending activities. */
  activityId: string;
  startedMs: number | undefined;
  /** When the loop went back to waiting (its next timer started); unknown while the pass runs. */
  restMs: number | undefined;
}

/**
 * The passes a loop's timers woke in `span` (by due time): a fired timer is due at its start plus
 * its duration, and its pass begins when the first activity scheduled after the firing starts. A
 * timer that was cancelled (a signal came first) woke nothing; a firing after which nothing was
 * scheduled (the run ended) is left out.
 */
export function timedPasses(events: readonly HistoryEvent[], span: Span): Pass[] {
  const timers = new Map<string, { dueMs: number; intervalMs: number }>();
  const passOf = new Map<string, Pass>();
  const passes: Pass[] = [];
  let woken: { dueMs: number; intervalMs: number } | undefined;
  let running: Pass | undefined;
  for (const event of events) {
    const type = Number(event.eventType);
    if (type === EVENT.TIMER_STARTED) {
      const intervalMs = millisOf(event.timerStartedEventAttributes?.startToFireTimeout as Timestamp);
      timers.set(String(event.eventId), { dueMs: timeOf(event) + intervalMs, intervalMs });
      if (running) running.restMs = timeOf(event);
      running = undefined;
    } else if (type === EVENT.TIMER_FIRED) {
      woken = timers.get(String(event.timerFiredEventAttributes?.startedEventId));
    } else if (type === EVENT.ACTIVITY_TASK_SCHEDULED && woken !== undefined) {
      if (woken.dueMs >= span.fromMs && woken.dueMs < span.toMs) {
        const pass: Pass = { ...woken, activityId: event.activityTaskScheduledEventAttributes?.activityId ?? '', startedMs: undefined, restMs: undefined };
        passes.push(pass);
        passOf.set(String(event.eventId), pass);
        running = pass;
      }
      woken = undefined;
    } else if (type === EVENT.ACTIVITY_TASK_STARTED) {
      const pass = passOf.get(String(event.activityTaskStartedEventAttributes?.scheduledEventId));
      if (pass) pass.startedMs = timeOf(event);
    }
  }
  return passes;
}

/** The longest timer the history started before `beforeMs`: a loop's full interval (a pass due sooner, after "sync now", waits less). */
export function longestTimerMs(events: readonly HistoryEvent[], beforeMs: number): number {
  let longest = 0;
  for (const event of events) {
    if (Number(event.eventType) === EVENT.TIMER_STARTED && timeOf(event) < beforeMs) longest = Math.max(longest, millisOf(event.timerStartedEventAttributes?.startToFireTimeout as Timestamp));
  }
  return longest;
}

/**
 * How long each signal in `span` kept the workflow busy: from the signal to the next timer it
 * started (it went back to waiting). A signal after which no timer started is left out.
 */
export function signalToRest(events: readonly HistoryEvent[], span: Span): number[] {
  const spans: number[] = [];
  let signalledMs: number | undefined;
  for (const event of events) {
    const type = Number(event.eventType);
    if (type === EVENT.WORKFLOW_EXECUTION_SIGNALED && within(event, span)) signalledMs ??= timeOf(event);
    else if (type === EVENT.TIMER_STARTED && signalledMs !== undefined) {
      spans.push(timeOf(event) - signalledMs);
      signalledMs = undefined;
    }
  }
  return spans;
}
