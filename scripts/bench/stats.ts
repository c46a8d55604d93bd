/** Small statistics for the benchmark: medians and percentiles of measured samples. */
export function percentile(samples: number[], p: number): number {
  const s = [...samples].sort((a, b) => a - b);
  if (!s.length) return NaN;
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[i]!;
}

export const median = (samples: number[]) => percentile(samples, 50);

export function round(n: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/** One line of the bench's report: our figure, its baseline from the same run, the goal. */
export interface BenchRow {
  figure: string;
  ours: number;
  baseline?: number;
  unit: string;
  ratio?: number;
  goal: string;
  met?: boolean;
}
