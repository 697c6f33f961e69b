import { createFeedActivities } from './feed.ts';
import type { AlertDeps } from './shared.ts';
import { createTicketActivities } from './tickets.ts';
import type { AlertActivities } from './types.ts';

/** The activities of alert → ticket sync (SPEC F5): the feed and the tickets. */
export function createAlertActivities(deps: AlertDeps): AlertActivities {
  return { ...createFeedActivities(deps), ...createTicketActivities(deps) };
}
