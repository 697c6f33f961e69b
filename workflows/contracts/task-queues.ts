/** Workflows and short activities: every vendor call that answers within seconds. */
export const TASK_QUEUE = 'acronis-integration';

/**
 * Activities that run for minutes (discovery passes, alert polling) have a queue and slots of their
 * own, so a partner's long pass never takes the slot a short call of another partner needs.
 */
export const LONG_ACTIVITY_TASK_QUEUE = 'acronis-integration-long';
