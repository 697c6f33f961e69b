/** Reading a histogram out of Prometheus text, as `histogram_quantile` would over an interval. */

/** Cumulative counts per upper bound (`le`), summed over every label set of the metric. */
export type Buckets = Map<number, number>;

const SAMPLE = /^(\w+)_bucket\{([^}]*)\}\s+(\S+)/;

export function histogramBuckets(text: string, metric: string): Buckets {
  const buckets: Buckets = new Map();
  for (const line of text.split('\n')) {
    const match = SAMPLE.exec(line);
    if (!match || match[1] !== metric) continue;
    const le = /(?:^|,)le="([^"]+)"/.exec(match[2] ?? '')?.[1];
    if (le === undefined) continue;
    const bound = le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le);
    buckets.set(bound, (buckets.get(bound) ?? 0) + Number(match[3]));
  }
  return buckets;
}

/** What was observed between two scrapes of the same process. */
export function bucketsBetween(before: Buckets, after: Buckets): Buckets {
  return new Map([...after].map(([bound, count]) => [bound, count - (before.get(bound) ?? 0)]));
}

export function observations(buckets: Buckets): number {
  return buckets.get(Number.POSITIVE_INFINITY) ?? 0;
}

/**
 * The q-quantile, interpolated linearly inside its bucket as Prometheus does (the lowest bucket
 * from 0); past the last finite bound it is that bound. NaN without observations.
 */
export function quantile(buckets: Buckets, q: number): number {
  const bounds = [...buckets.keys()].sort((a, b) => a - b);
  const total = observations(buckets);
  if (!(total > 0)) return Number.NaN;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (const bound of bounds) {
    const count = buckets.get(bound) ?? 0;
    if (count >= rank) {
      if (bound === Number.POSITIVE_INFINITY) return lower;
      return lower + ((bound - lower) * (rank - below)) / Math.max(count - below, 1);
    }
    lower = bound;
    below = count;
  }
  return lower;
}
