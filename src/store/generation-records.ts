import type { AgentActivity } from '../generate/types.js'

/** The records of the self-fix loop: one per generate job, with its iterations. */

/**
 * How a generation (one `generate` job's self-fix loop) ended: running; passed (the last
 * iteration's tests pass); failed (iterations or time budget spent with tests failing); stopped
 * (the agent failed or changed nothing in a later iteration: the earlier iterations stay on the
 * branch); error (the job gave up).
 */
export type GenerationState = 'running' | 'passed' | 'failed' | 'stopped' | 'error'

/** One iteration of a generation: the agent's run, DevSys's commit, and the tests of that commit. */
export interface GenerationIteration {
  /** 1 for the first run. */
  iteration: number
  /** The commit the iteration left the branch at (null when the agent failed). */
  headSha: string | null
  committed: boolean
  /** Files the iteration's commit changed. */
  files: string[]
  /** The iteration's test run (its check run), once started. */
  testRunId: number | null
  /** The tests' result: conclusion, title and counts, as in the check run. */
  tests: { conclusion: string; title: string; counts: Record<string, unknown> } | null
  /** What the agent did, when the generator reports it (tool calls, tokens). */
  activity: AgentActivity | null
  /** Why the iteration failed (the agent crashed or timed out), in words for people. */
  error: string | null
  /** The agent's run, the commit, the push and the tests. */
  durationMs: number
}

export interface Generation {
  id: number
  repo: string | null
  taskId: string
  /** The generator kind (`command`, `agent`) and, for agents, which one. */
  generator: string
  reason: string
  maxIterations: number
  budgetSeconds: number
  state: GenerationState
  /** Why the loop ended, a code: passed, max-iterations, budget, agent-failed, unchanged. */
  stopReason: string | null
  headSha: string | null
  /** Tokens over every iteration that reported usage (null when none did). */
  usage: { inputTokens: number; outputTokens: number; cachedInputTokens: number } | null
  iterations: GenerationIteration[]
  startedAt: string
  finishedAt: string | null
}
