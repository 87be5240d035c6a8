import pino from 'pino'
import type { DeployTarget, Release } from '../../src/deploy/types.js'
import type { KnownDivergences, Scenario } from './scenario.js'
import type { TargetFiles } from './target-files.js'

/** A target deploying into a root no other scenario uses, and what the test sees of it. */
export interface FreshTarget {
  target: DeployTarget
  /** The files under the target's root. */
  files: TargetFiles
  /** The url the target was made with (what `target.url` must be). */
  url: string | null
  /** GETs a path of the live site (current/public), when the implementation can serve it. */
  page?(path: string): Promise<{ status: number; body: string }>
  /** Closes the target and removes what the scenario made (a container, a folder). */
  dispose(): Promise<void>
}

/** One implementation of the `DeployTarget` port, as the contract suite drives it. */
export interface DeployTargetUnderTest {
  kind: DeployTarget['kind']
  /** Starts what the target needs (a server); runs once, before every scenario. */
  setUp?(): Promise<void>
  tearDown?(): Promise<void>
  /** A target on a new, empty root, with these shared folders. */
  fresh(shared: string[]): Promise<FreshTarget>
  /**
   * A target whose root is on a disk of 1 MiB, for the full-disk scenario; absent when none can be
   * made here (skipped).
   */
  smallDisk?(): Promise<FreshTarget>
  /** What the no-space error says to do, beyond its code. */
  noSpaceMessage: RegExp
  /** A failed upload leaves no temporary folder at all (otherwise the next upload removes it). */
  removesPartialAtOnce: boolean
  /** Checks made after every scenario (e.g. that a root's odd name ran nothing). */
  afterScenario?(): Promise<void>
  /** Whether `fresh()` gives a `page()` (the blog scenarios need one). */
  serves: boolean
  /** Unchanged files are taken from the live release on the target, not sent again. */
  reusesFiles: boolean
  /** `bytesSent` counts the files' bytes (not the bytes of an archive holding them). */
  countsFileBytes: boolean
  /** Scenarios (by name) this implementation is known to fail, each with why. */
  knownDivergences?: KnownDivergences
}

const log = pino({ level: 'silent' })
/** Uploads a release to a target, with a signal that is never aborted unless one is given. */
export const upload = (
  target: DeployTarget,
  release: Release,
  signal = new AbortController().signal,
) => target.upload(release, { signal, log })

/** What the contract's scenario files share: the implementation and the suite's fixtures. */
export interface ContractContext {
  impl: DeployTargetUnderTest
  scenario: Scenario
  /** A fresh target (made by `make`, default `impl.fresh(shared)`), disposed after the scenario. */
  fresh(shared?: string[], make?: () => Promise<FreshTarget>): Promise<FreshTarget>
  /** A release directory with these files; the id is a fake tree id derived from `n`. */
  release(n: number, files: Record<string, string>): Promise<Release>
  /** Makes a release's marker `minutes` old: release age is the marker's time. */
  age(files: TargetFiles, id: string, minutes: number): Promise<void>
  /** A path no other scenario uses, in the suite's scratch folder. */
  scratch(name: string): string
  /** The generated blog, then the same with its title changed (one file differs). */
  blog: { readonly first: Release; readonly second: Release }
}
