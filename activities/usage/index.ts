import { createPassActivities, type UsageDeps } from './pass.ts';
import { createReviewActivities } from './review.ts';

/** The activities of usage reporting (SPEC F4): planning, passes, reviews. */
export function createUsageActivities(deps: UsageDeps) {
  return { ...createPassActivities(deps), ...createReviewActivities(deps) };
}

export type UsageActivities = ReturnType<typeof createUsageActivities>;
