import { caseTitle, failuresFirst } from '../../runner/junit/summarize.js'
import type { LoopEnd, LoopIteration, LoopResult } from '../generate/self-fix-loop.js'
import type { AgentActivity } from '../generate/types.js'
import { redact } from '../secrets/redact.js'
import type { TestOutcome } from './format-tests.js'

/** The loop's limits, as the repo config set them. */
export interface LoopLimits {
  maxIterations: number
  budgetSeconds: number
}

const FAILURES_LISTED = 10
const STEPS_PER_ITERATION = 40

/** The iterations as a Markdown table: iteration, files changed, tests, duration, tokens. */
export function formatIterationsTable(iterations: readonly LoopIteration[]): string {
  const rows = iterations.map((it) => {
    const tests =
      it.error !== null
        ? `agent failed: ${inline(firstLine(it.error), 120)}`
        : it.tests === null
          ? it.committed
            ? 'not run'
            : 'no change'
          : `${it.tests.conclusion === 'success' ? '✅' : '❌'} ${inline(it.tests.title, 120)}`
    const files = it.error !== null ? '—' : String(it.files.length)
    return `| ${it.iteration} | ${files} | ${tests} | ${seconds(it.durationMs)} | ${tokens(it.activity)} |`
  })
  return [
    '| iteration | files changed | tests | duration | tokens |',
    '| ---: | ---: | --- | ---: | ---: |',
    ...rows,
  ].join('\n')
}

/**
 * How the loop ended, in plain words: passed, or what was tried, what still fails, and what
 * people can do next.
 */
export function formatLoopEnd(
  loop: Pick<LoopResult, 'iterations' | 'end' | 'error'>,
  limits: LoopLimits,
): string {
  const n = loop.iterations.length
  const tested = loop.iterations.findLast((i) => i.tests !== null)
  const failing = tested?.tests?.title.toLowerCase() ?? 'the tests fail'
  const next =
    'Comment `/revise <what to change>` to run the agent again with your feedback, push a fix to the branch, or raise `generator.maxIterations` or `generator.budgetSeconds` in `.github/devsys.yml`.'
  switch (loop.end) {
    case 'passed':
      return n === 1
        ? 'The tests pass on the first iteration.'
        : `The tests pass after ${n} iterations: DevSys gave the agent the failing tests after each run and it fixed them.`
    case 'untested':
      return 'The agent changed nothing, and this commit was tested before.'
    case 'max-iterations':
      return `**The tests still fail after ${n} iteration${plural(n)}**, the limit (\`generator.maxIterations\`): ${failing}. DevSys stopped and leaves the pull request as a draft. ${next}`
    case 'budget':
      return `**The time budget is spent** (\`generator.budgetSeconds\`: ${limits.budgetSeconds} s) after ${n} of ${limits.maxIterations} iterations, and the tests still fail: ${failing}. DevSys started no further iteration and leaves the pull request as a draft. ${next}`
    case 'agent-failed': {
      const keep =
        tested?.headSha === undefined || tested.headSha === null
          ? ''
          : ` The branch keeps iteration ${tested.iteration}'s commit ${tested.headSha.slice(0, 7)}, whose tests fail: ${failing}.`
      return `**Iteration ${n} failed**: ${inline(firstLine(loop.error?.message ?? 'the agent failed'), 300)}${keep} DevSys stopped and leaves the pull request as a draft. ${next}`
    }
    case 'unchanged':
      return `**Iteration ${n} changed nothing**, so its tests would fail as before (${failing}). DevSys stopped and leaves the pull request as a draft. ${next}`
  }
}

/** Why a loop that did not pass stopped, in a few words for the task's issue; undefined if it passed. */
export function formatLoopGaveUp(loop: Pick<LoopResult, 'iterations' | 'end'>): string | undefined {
  const n = loop.iterations.length
  switch (loop.end) {
    case 'max-iterations':
      return `the tests still fail after ${n} iteration${plural(n)}`
    case 'budget':
      return `the time budget is spent after ${n} iteration${plural(n)} and the tests still fail`
    case 'agent-failed':
      return `iteration ${n} failed and the tests still fail`
    case 'unchanged':
      return `iteration ${n} changed nothing and the tests still fail`
    default:
      return undefined
  }
}

/** The failures still left after the loop, as a short list (the check run has them all). */
export function formatRemainingFailures(outcome: TestOutcome | null): string {
  if (outcome === null || outcome.kind !== 'report') return ''
  const broken = failuresFirst(outcome.report).filter((c) => c.status !== 'skipped')
  if (broken.length === 0) return ''
  const listed = broken.slice(0, FAILURES_LISTED).map((c) => {
    const where =
      c.file === undefined ? '' : ` (${c.file}${c.line === undefined ? '' : `:${c.line}`})`
    const message = c.message === undefined ? '' : `: ${inline(firstLine(redact(c.message)), 200)}`
    return `- \`${code(caseTitle(c))}\`${where}${message}`
  })
  if (broken.length > listed.length) listed.push(`- … and ${broken.length - listed.length} more`)
  return ['Still failing:', ...listed].join('\n')
}

/**
 * The agent's activity, collapsed: per iteration its tool calls, the files changed and the
 * tokens used. Empty when no iteration reported activity.
 */
export function formatActivity(iterations: readonly LoopIteration[]): string {
  const reported = iterations.filter((i) => i.activity !== null)
  if (reported.length === 0) return ''
  const steps = reported.reduce((n, i) => n + (i.activity?.toolCalls.length ?? 0), 0)
  const input = reported.reduce((n, i) => n + (i.activity?.usage?.inputTokens ?? 0), 0)
  const output = reported.reduce((n, i) => n + (i.activity?.usage?.outputTokens ?? 0), 0)
  const sections = reported.map((it) => {
    const a = it.activity as AgentActivity
    const who = [a.agent, a.model].filter((x) => x !== undefined).map((x) => inline(x, 80))
    const calls = a.toolCalls
      .slice(0, STEPS_PER_ITERATION)
      .map((c, n) => `${n + 1}. \`${code(c.tool)}\` ${inline(redact(c.summary), 160)}`)
    if (a.toolCalls.length > calls.length)
      calls.push(`… and ${a.toolCalls.length - calls.length} more steps`)
    const files = it.files.length === 0 ? 'none' : it.files.map((f) => `\`${code(f)}\``).join(', ')
    return [
      `**Iteration ${it.iteration}** (${who.join(', ')}, ${seconds(a.durationMs)})`,
      '',
      ...(calls.length === 0 ? ['No tool calls.'] : calls),
      '',
      `Files changed: ${files}`,
      `Tokens: ${tokens(a)}`,
    ].join('\n')
  })
  return [
    `<details><summary>Agent activity: ${steps} step${plural(steps)}, ${number(input)} input and ${number(output)} output tokens</summary>`,
    '',
    ...sections.flatMap((s) => [s, '']),
    '</details>',
  ].join('\n')
}

/** Everything about a loop, for the PR body, its status comment and the final check run. */
export function formatLoopReport(
  loop: Pick<LoopResult, 'iterations' | 'end' | 'outcome' | 'error'>,
  limits: LoopLimits,
): string {
  return [
    formatLoopEnd(loop, limits),
    formatRemainingFailures(loop.end === 'passed' ? null : loop.outcome),
    formatIterationsTable(loop.iterations),
    formatActivity(loop.iterations),
  ]
    .filter((part) => part !== '')
    .join('\n\n')
}

/** Title and summary lead of an iteration's check run: its place in the loop and what follows. */
export function formatIterationCheck(
  iteration: LoopIteration,
  end: LoopEnd | undefined,
  title: string,
  limits: LoopLimits,
): { title: string; lead: string } {
  const i = iteration.iteration
  if (end === undefined)
    return {
      title: `Iteration ${i} of ${limits.maxIterations}: ${title}`,
      lead: `DevSys gave these failures to the agent: iteration ${i + 1} is fixing them.`,
    }
  if (end === 'passed')
    return { title: i === 1 ? title : `${title} (after ${i} iterations)`, lead: '' }
  return {
    title: `${title} after ${i} iteration${plural(i)}${end === 'budget' ? ' (time budget spent)' : ''}`,
    lead: '',
  }
}

function tokens(activity: AgentActivity | null): string {
  const usage = activity?.usage
  if (usage === undefined) return '—'
  const cached =
    usage.cachedInputTokens === undefined ? '' : ` (${number(usage.cachedInputTokens)} cached)`
  return `${number(usage.inputTokens)} in${cached} / ${number(usage.outputTokens)} out`
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`
}

function number(n: number): string {
  return n.toLocaleString('en-US')
}

function plural(n: number): string {
  return n === 1 ? '' : 's'
}

function firstLine(text: string): string {
  return text.split('\n').find((line) => line.trim() !== '') ?? ''
}

/** Text from agents and tests on one line, capped, unable to open HTML or break a table. */
function inline(text: string, chars: number): string {
  const flat = text.replace(/\s+/g, ' ').trim()
  const capped = flat.length > chars ? `${flat.slice(0, chars)}…` : flat
  return capped.replace(/</g, '&lt;').replace(/\|/g, '\\|')
}

/** Text for inside an inline code span. */
function code(text: string): string {
  return text.replace(/\s+/g, ' ').replace(/`/g, "'").slice(0, 200)
}
