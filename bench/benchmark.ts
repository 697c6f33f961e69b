/** What a benchmark answers: its figures, printed in this order as `key=value` (numbers without units; the unit is in the key). */
export type Figures = Record<string, number | string>;

/** A benchmark module (bench/<name>.ts) exports `run: Benchmark`; it measures, prints progress to stderr if it likes, and throws only when the run itself failed. */
export type Benchmark = () => Promise<Figures>;
