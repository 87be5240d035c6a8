/** Median, p90, min and max of a benchmark's measured runs. */
export interface Summary {
  median: number
  p90: number
  min: number
  max: number
}

/** Median, p90 (nearest rank: with 5 runs, the largest), min and max of `values`. */
export function summarize(values: readonly number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b)
  const at = (q: number) => sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)] ?? Number.NaN
  const mid = Math.floor(sorted.length / 2)
  const median =
    sorted.length % 2 === 1
      ? (sorted[mid] ?? Number.NaN)
      : ((sorted[mid - 1] ?? Number.NaN) + (sorted[mid] ?? Number.NaN)) / 2
  return { median, p90: at(0.9), min: sorted[0] ?? Number.NaN, max: at(1) }
}
