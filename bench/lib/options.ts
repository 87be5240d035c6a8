/**
 * Benchmark options: `--name=value` (or `--name` alone for true) on the command line, else the
 * BENCH_NAME environment variable (dashes become underscores).
 */
export function option(name: string): string | undefined {
  const arg = process.argv.find((a) => a === `--${name}` || a.startsWith(`--${name}=`))
  if (arg === `--${name}`) return 'true'
  return (
    arg?.slice(name.length + 3) ?? process.env[`BENCH_${name.toUpperCase().replaceAll('-', '_')}`]
  )
}

/** A numeric option within [min, max], or `fallback` when not given. */
export function numberOption(name: string, fallback: number, min: number, max: number): number {
  const raw = option(name)
  const value = raw === undefined ? fallback : Number(raw)
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new Error(`--${name} must be a number between ${min} and ${max}, got ${raw}`)
  }
  return value
}

/** A whole-number option within [min, max], or `fallback` when not given. */
export function intOption(name: string, fallback: number, min: number, max: number): number {
  const value = numberOption(name, fallback, min, max)
  if (!Number.isInteger(value)) throw new Error(`--${name} must be an integer, got ${value}`)
  return value
}
