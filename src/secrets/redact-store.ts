import { redactDeep } from './redact.js'

/**
 * `store` with every argument of every method call redacted before the store sees it: test
 * output and reports, generator output, job errors and outcomes, audit details, whatever a
 * future method stores. Wrapping the whole port rather than chosen columns means a new record
 * kind cannot forget it. Results are returned as stored; non-function properties pass through.
 */
export function redactStore<S extends object>(store: S): S {
  const wrapped = new Map<PropertyKey, unknown>()
  return new Proxy(store, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target)
      if (typeof value !== 'function') return value
      let method = wrapped.get(property)
      if (method === undefined) {
        method = (...args: unknown[]) =>
          (value as (...a: unknown[]) => unknown).apply(
            target,
            args.map((arg) => redactDeep(arg)),
          )
        wrapped.set(property, method)
      }
      return method
    },
  })
}
