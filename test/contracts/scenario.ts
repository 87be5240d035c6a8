import { it } from 'vitest'

/** A scenario an implementation is known to fail, with why: the report's words, not a skip. */
export type KnownDivergences = Readonly<Record<string, string>>

/** Defines one scenario of a contract (see `scenarios`). */
export type Scenario = (name: string, test: () => Promise<void>, options?: ScenarioOptions) => void

export interface ScenarioOptions {
  /** The implementation cannot run this scenario here (a tool it needs is missing). */
  skip?: boolean
  timeout?: number
}

/**
 * Defines a contract's scenarios for one implementation. A scenario listed in `known` runs as
 * `it.fails`, named with the reason: it shows in every run, and turns red once the implementation
 * is fixed, so the entry is removed then. `done()` throws if `known` names no scenario.
 */
export function scenarios(known: KnownDivergences = {}): { scenario: Scenario; done(): void } {
  const defined = new Set<string>()
  return {
    scenario: (name, test, options = {}) => {
      defined.add(name)
      const reason = known[name]
      if (reason !== undefined)
        it.fails(`${name} [known divergence: ${reason}]`, test, options.timeout)
      else it.skipIf(options.skip === true)(name, test, options.timeout)
    },
    done: () => {
      const unknown = Object.keys(known).filter((name) => !defined.has(name))
      if (unknown.length > 0) {
        throw new Error(
          `knownDivergences names no scenario of this contract: ${unknown.join('; ')}`,
        )
      }
    },
  }
}
