import { gitEnv, openGit } from '../../git/git-env.js'
import {
  FEEDBACK_PATH,
  GENERATED_LIST_PATH,
  PROMPT_PATH,
  TASK_SPEC_PATH,
} from '../bookkeeping-paths.js'
import { renderTemplate } from '../scaffold/render-template.js'
import type { GenerateRequest, TestFeedback } from '../types.js'
import { specKitPromptView } from './spec-kit-prompt.js'

/** Files of the work tree listed in the prompt; past this, a count per top folder. */
export const PROMPT_TREE_FILES = 300
/** Failing tests described in full; the rest are counted. */
export const PROMPT_FAILURES = 20
/** Per failure: characters of its message and of its details (stack trace, diff). */
const MESSAGE_CHARS = 1_000
const DETAILS_CHARS = 2_000
/** Characters of the test command's output tail. */
const OUTPUT_TAIL_CHARS = 4_000

export type PromptRequest = Pick<
  GenerateRequest,
  'workspace' | 'manifest' | 'spec' | 'feedback' | 'iteration' | 'previousTests'
>

/**
 * Writes the prompt handed to a coding agent: the rules it works under, what to build (stories,
 * acceptance checks, stack, test command; for a Spec Kit spec also its requirements, unchecked
 * scenarios, plan.md and tasks.md), the feedback of a `/revise` (quoted), on a retry the
 * failing tests of the previous iteration, the work tree's layout, and the task spec. Text from
 * the repository and its test output is fenced and marked as data. Only triple-brace
 * (unescaped) variables are used: the prompt is Markdown read by the agent, not HTML.
 */
export async function buildPrompt(
  request: PromptRequest,
  limits: { forbiddenPaths: readonly string[]; maxOutputBytes: number },
): Promise<string> {
  const { manifest, spec } = request
  const feedback = request.feedback?.trim() ?? ''
  const tests = request.previousTests
  const retry = (request.iteration ?? 1) > 1 && tests !== undefined
  const files = await listTrackedFiles(request.workspace)
  const shown = files.slice(0, PROMPT_TREE_FILES)
  return renderTemplate('command/prompt.md', {
    id: manifest.id,
    title: manifest.title,
    description: manifest.description === '' ? manifest.title : manifest.description,
    stories: manifest.stories,
    acceptance: manifest.acceptance.map((a) => ({
      request: `${a.method} ${a.path}`,
      expect: [
        `status ${a.status}`,
        ...(a.bodyContains ?? []).map((t) => `containing ${JSON.stringify(t)}`),
        ...(a.bodyMatches === undefined ? [] : [`matching /${a.bodyMatches}/`]),
      ].join(', '),
    })),
    stack: manifest.stack,
    testCommand: manifest.tests.command.join(' '),
    junit: manifest.tests.junit,
    testTimeout: manifest.tests.timeoutSeconds,
    forbiddenPaths: limits.forbiddenPaths,
    bookkeeping: [TASK_SPEC_PATH, FEEDBACK_PATH, GENERATED_LIST_PATH, PROMPT_PATH],
    maxOutput:
      limits.maxOutputBytes >= 1024 * 1024
        ? `${Math.floor(limits.maxOutputBytes / 1024 / 1024)} MiB`
        : `${Math.floor(limits.maxOutputBytes / 1024)} KiB`,
    hasFeedback: feedback !== '',
    feedback: feedback
      .split(/\r?\n/)
      .map((line) => (line === '' ? '>' : `> ${line}`))
      .join('\n'),
    retry,
    iteration: request.iteration ?? 1,
    ...(retry ? failureView(tests) : {}),
    tree: fenced(
      [...shown, ...folderCounts(files.slice(PROMPT_TREE_FILES))].join('\n') || '(no files yet)',
    ),
    moreFiles: files.length > shown.length,
    shownFiles: shown.length,
    totalFiles: files.length,
    spec: fenced(spec.replace(/\n$/, ''), 'yaml'),
    ...specKitPromptView(manifest, spec),
  })
}

function failureView(tests: TestFeedback) {
  const listed = tests.failures.slice(0, PROMPT_FAILURES)
  return {
    testsSummary: capitalize(oneLine(tests.summary)),
    failures: listed.map((f, i) => {
      const lines = [`test: ${oneLine(f.name)}`, `result: ${f.status}`]
      if (f.file !== undefined)
        lines.push(`at: ${f.file}${f.line === undefined ? '' : `:${f.line}`}`)
      if (f.message) lines.push(`message: ${cap(f.message, MESSAGE_CHARS)}`)
      if (f.details) lines.push('details:', cap(f.details, DETAILS_CHARS))
      return { number: i + 1, block: fenced(lines.join('\n')) }
    }),
    moreFailures: tests.failures.length > listed.length ? tests.failures.length - listed.length : 0,
    outputTail: fenced(tail(tests.outputTail, OUTPUT_TAIL_CHARS) || '(no output)'),
  }
}

/** The work tree's tracked files, sorted; the prompt file itself is never tracked. */
async function listTrackedFiles(workspace: string): Promise<string[]> {
  const listed = await openGit(workspace, gitEnv()).raw(['ls-files', '-z'])
  return listed
    .split('\0')
    .filter((f) => f !== '' && f !== PROMPT_PATH)
    .sort()
}

/** "src/ (12 more files)" lines for the files past the cap. */
function folderCounts(rest: string[]): string[] {
  const counts = new Map<string, number>()
  for (const file of rest) {
    const slash = file.indexOf('/')
    const top = slash === -1 ? '.' : `${file.slice(0, slash)}/`
    counts.set(top, (counts.get(top) ?? 0) + 1)
  }
  return [...counts].map(([top, n]) => `… ${top} (${n} more file${n === 1 ? '' : 's'})`)
}

/** A fenced block longer than any backtick run inside, so the text cannot close it early. */
function fenced(text: string, info = 'text'): string {
  const fence = '`'.repeat(Math.max(3, ...[...text.matchAll(/`+/g)].map((m) => m[0].length + 1)))
  return `${fence}${info}\n${text}\n${fence}`
}

function oneLine(text: string): string {
  return cap(text.replace(/\s*\r?\n\s*/g, ' '), 300)
}

function cap(text: string, chars: number): string {
  return text.length > chars ? `${text.slice(0, chars)}… (cut)` : text
}

function tail(text: string, chars: number): string {
  return text.length > chars ? `(…)${text.slice(-chars)}` : text
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1)
}
