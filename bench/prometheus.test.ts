import { describe, expect, it } from 'vitest';
import { bucketsBetween, histogramBuckets, observations, quantile } from './prometheus.ts';

const scrape = (counts: [string, number][], queue = 'engine') =>
  counts.map(([le, count]) => `temporal_workflow_task_schedule_to_start_latency_bucket{namespace="default",task_queue="${queue}",le="${le}"} ${count}`).join('\n');

describe('a histogram from Prometheus text', () => {
  it('sums the label sets of one metric and ignores the others', () => {
    const text = [
      '# TYPE temporal_workflow_task_schedule_to_start_latency histogram',
      scrape([['0.1', 2], ['0.2', 3], ['+Inf', 4]]),
      scrape([['0.1', 1], ['0.2', 1], ['+Inf', 1]], 'sticky'),
      'temporal_activity_schedule_to_start_latency_bucket{le="0.1"} 99',
      'temporal_workflow_task_schedule_to_start_latency_sum 1.5',
    ].join('\n');
    const buckets = histogramBuckets(text, 'temporal_workflow_task_schedule_to_start_latency');
    expect([...buckets]).toEqual([[0.1, 3], [0.2, 4], [Number.POSITIVE_INFINITY, 5]]);
    expect(observations(buckets)).toBe(5);
  });

  it('interpolates a quantile inside its bucket, over what two scrapes saw between them', () => {
    const before = histogramBuckets(scrape([['0.1', 10], ['0.2', 10], ['+Inf', 10]]), 'temporal_workflow_task_schedule_to_start_latency');
    const after = histogramBuckets(scrape([['0.1', 100], ['0.2', 110], ['+Inf', 110]]), 'temporal_workflow_task_schedule_to_start_latency');
    const window = bucketsBetween(before, after);
    expect(observations(window)).toBe(100);
    // 95 of 100: 90 under 0.1, the other 10 spread over 0.1–0.2.
    expect(quantile(window, 0.95)).toBeCloseTo(0.15);
    expect(quantile(window, 0.5)).toBeCloseTo(0.1 * (50 / 90));
  });

  it('answers the last finite bound past it, and NaN without observations', () => {
    const buckets = new Map([[0.1, 0], [Number.POSITIVE_INFINITY, 3]]);
    expect(quantile(buckets, 0.95)).toBe(0.1);
    expect(quantile(new Map(), 0.95)).toBeNaN();
  });
});
