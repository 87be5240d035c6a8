import type { Manifest } from '../manifest/types.js'
import type { Task } from '../store/store.js'
import { formatSpecUnderstanding } from './format-spec-understanding.js'

const MAX_FILES_LISTED = 200

/** Escapes text for one Markdown table cell. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ')
}

/** The PR's title: what the task builds. */
export function formatPullRequestTitle(task: Task): string {
  return `DevSys: ${task.title}`.slice(0, 250)
}

/**
 * The PR's description: what it closes, what the manifest asks for (for a Spec Kit spec, what
 * DevSys understood scenario by scenario, and a checklist), and what was generated. The
 * hidden marker ties the PR to its task for people and tools reading it.
 */
export function formatPullRequestBody(input: {
  task: Task
  manifest: Manifest
  files: string[]
  generator: string
  headSha: string
  /** The self-fix loop's report (format-iterations.ts), when the generation ran one. */
  loop?: string
}): string {
  const { task, manifest, files } = input
  const closes =
    task.source.kind === 'issue' && task.source.issue !== undefined
      ? `Closes #${task.source.issue}.\n\n`
      : ''
  const stories = manifest.stories.map(
    (s) => `- As a ${s.as}, I want ${s.want}${s.soThat ? `, so that ${s.soThat}` : ''}.`,
  )
  const checks = manifest.acceptance.map((a) => {
    const expect = [`status ${a.status}`, ...(a.bodyContains ?? []).map((t) => `contains “${t}”`)]
    if (a.bodyMatches) expect.push(`matches \`${a.bodyMatches}\``)
    return `| \`${a.method} ${cell(a.path)}\` | ${cell(expect.join(', '))} |`
  })
  const listed = files.slice(0, MAX_FILES_LISTED).map((f) => `- \`${f}\``)
  if (files.length > MAX_FILES_LISTED)
    listed.push(`- … and ${files.length - MAX_FILES_LISTED} more`)
  return [
    `<!-- devsys:task=${task.id} -->`,
    `${closes}**${cell(manifest.title)}** (\`${task.id}\`, ${manifest.stack} stack, revision ${task.revision})`,
    '',
    manifest.description,
    '',
    '#### User stories',
    ...stories,
    '',
    '#### Acceptance criteria',
    '| request | expected |',
    '| --- | --- |',
    ...checks,
    '',
    ...formatSpecUnderstanding(manifest),
    `<details><summary>Generated files (${files.length}) by the ${input.generator} generator at ${input.headSha.slice(0, 7)}</summary>`,
    '',
    ...listed,
    '',
    '</details>',
    '',
    ...(input.loop === undefined ? [] : ['#### Iterations', '', input.loop, '']),
    'Comment `/revise <what to change>` to regenerate with your feedback, or `/help` for all commands.',
  ].join('\n')
}

/** The PR's sticky status comment after a generation. */
export function formatGeneratedComment(input: {
  task: Task
  headSha: string
  committed: boolean
  files: number
  summary: string
  feedback?: string | undefined
  /** The self-fix loop's report (format-iterations.ts), when the generation ran one. */
  loop?: string
}): string {
  const what = input.committed
    ? `pushed ${input.files} changed file${input.files === 1 ? '' : 's'} as ${input.headSha.slice(0, 7)}`
    : `found nothing to change (the branch stays at ${input.headSha.slice(0, 7)})`
  return [
    `### DevSys generated \`${input.task.id}\``,
    '',
    `${input.summary} DevSys ${what}.`,
    ...(input.feedback ? ['', `> ${input.feedback.split('\n').join('\n> ')}`] : []),
    ...(input.loop === undefined ? [] : ['', input.loop]),
  ].join('\n')
}
