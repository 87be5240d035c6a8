import { simpleGit } from 'simple-git'
import { redact } from '../../secrets/redact.js'
import { PROMPT_PATH } from '../bookkeeping-paths.js'
import { checkChanges } from '../check-changes.js'
import { recordTask } from '../record-task.js'
import type { GenerateRequest } from '../types.js'
import { GenerateError } from '../types.js'
import { restoreGitDir, snapshotGitDir } from './guard-git-dir.js'
import type { AgentRun } from './run-agent.js'
import { findOutsideWrites, snapshotOutside } from './watch-outside.js'

/** How one external agent is run and judged: the command generator's and the agent presets'. */
export interface GuardedAgent {
  /** Who ran, as the start of a sentence: "The generator command", "The opencode agent". */
  label: string
  timeoutSeconds: number
  limits: { forbiddenPaths: readonly string[]; maxOutputBytes: number }
  /** Sets up, runs and cleans up after the agent (after the task is recorded). */
  run(): Promise<AgentRun>
  /** Why it failed, as sentences (e.g. "It said: …"), from its output, shown before the tail. */
  explain?(run: AgentRun): string | undefined
  /** An error the agent reported although it exited with 0 (a failed model call, a failed turn). */
  reportedError?(run: AgentRun): string | undefined
  /** What to do when the agent exits with an error; a default fits any agent. */
  exitAdvice?: string
}

export interface GuardedRun {
  run: AgentRun
  /** Changed files, as checkChanges lists them. */
  files: string[]
  durationMs: number
}

/**
 * Runs an agent in the workspace and accepts its work only if it kept the rules: it finished in
 * time with exit code 0, wrote nothing next to the workspace, left git's configuration, hooks
 * and branch alone (its commits become staged changes), and changed no forbidden path and no
 * more than the output limit (checkChanges). Any breach is a GenerateError; nothing is committed.
 */
export async function runGuarded(
  request: GenerateRequest,
  agent: GuardedAgent,
): Promise<GuardedRun> {
  const { workspace, log } = request

  // 1. Note what the agent must not change outside the work tree.
  const gitDir = await snapshotGitDir(workspace)
  const outside = await snapshotOutside(workspace)
  if (outside === null) {
    log.warn({ workspace }, 'workspace parent is shared; writes next to the workspace go unseen')
  }

  // 2. Record the task and run the agent.
  await recordTask(workspace, request.spec, request.feedback)
  const started = Date.now()
  const run = await agent.run()
  const durationMs = Date.now() - started
  log.info(
    { generator: agent.label, exitCode: run.exitCode, outputBytes: run.outputBytes },
    `agent finished in ${durationMs} ms`,
  )

  // 3. Judge how it ended, then what it changed.
  if (run.timedOut)
    throw failure(
      agent,
      'timeout',
      `did not finish within ${agent.timeoutSeconds} s and was stopped`,
      run,
      'Ask for a smaller change, or raise generator.timeoutSeconds in .github/devsys.yml.',
    )
  if (run.exitCode !== 0) {
    const how =
      run.exitCode === null ? `was ended by ${run.exitSignal}` : `exited with code ${run.exitCode}`
    throw failure(
      agent,
      'exit-code',
      how,
      run,
      agent.exitAdvice ??
        'Check the output below, fix the cause, and ask again (for example with /revise).',
    )
  }
  const reported = agent.reportedError?.(run)
  if (reported !== undefined) {
    throw failure(
      agent,
      'exit-code',
      'reported an error',
      run,
      agent.exitAdvice ?? 'Check the output below, fix the cause, and ask again.',
    )
  }
  if (outside !== null) {
    const written = await findOutsideWrites(outside)
    if (written.length > 0) {
      throw new GenerateError(
        'escape',
        `The generator wrote outside the repository, next to it: ${written.join(', ')}. Nothing was committed. Generated code must stay inside the repository.`,
      )
    }
  }
  await restoreGitDir(workspace, gitDir)
  // An agent that committed the prompt despite the exclude line: unstage and drop it.
  await simpleGit({ baseDir: workspace }).raw([
    'rm',
    '-q',
    '--cached',
    '--ignore-unmatch',
    '--',
    PROMPT_PATH,
  ])
  await recordTask(workspace, request.spec, request.feedback)
  const files = await checkChanges(workspace, agent.limits)
  return { run, files, durationMs }
}

/**
 * Most of the output's end shown in an error: the message becomes a GitHub comment, whose body
 * GitHub refuses over 65,536 characters, so the tail leaves room for the rest of the comment.
 */
export const SHOWN_OUTPUT_CHARS = 16 * 1024

function failure(
  agent: GuardedAgent,
  code: 'timeout' | 'exit-code',
  what: string,
  run: AgentRun,
  advice: string,
): GenerateError {
  const tail = redact(run.tail).slice(-SHOWN_OUTPUT_CHARS)
  const shown = Buffer.byteLength(tail)
  const note = run.outputBytes > shown ? ` (last ${shown} of ${run.outputBytes} bytes)` : ''
  // Fenced, so the agent's output is shown as printed and cannot format, mention or link.
  const output =
    run.outputBytes === 0 ? 'It printed nothing.' : `Its output${note}:\n\n${fenced(tail)}`
  const reason = agent.explain?.(run)
  const said = reason === undefined ? '' : ` ${redact(reason)}`
  return new GenerateError(
    code,
    `${agent.label} ${what}.${said} Nothing was committed. ${advice}\n\n${output}`,
  )
}

/** A code block whose fence is longer than any run of backticks inside. */
function fenced(text: string): string {
  const fence = '`'.repeat(Math.max(3, ...[...text.matchAll(/`+/g)].map((m) => m[0].length + 1)))
  return `${fence}text\n${text.replace(/\n$/, '')}\n${fence}`
}
