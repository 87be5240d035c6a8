import type { Acceptance } from '../intake/accept-manifest.js'
import type { ManifestProblem } from '../manifest/types.js'
import { redact } from '../secrets/redact.js'
import type { Task } from '../store/store.js'

/** Escapes text for a Markdown table cell. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ').replace(/`/g, "'")
}

/** A Markdown table of every problem, each with its place in the file and how to fix it. */
export function formatProblems(label: string, problems: ManifestProblem[]): string {
  const rows = problems.map(
    (p) =>
      `| ${p.line}:${p.column} | \`${cell(p.pointer || '/')}\` | ${cell(p.message)} | ${cell(p.hint)} |`,
  )
  return [
    `**${label}** has ${problems.length} problem${problems.length === 1 ? '' : 's'}:`,
    '',
    '| line:col | where | problem | how to fix |',
    '| --- | --- | --- | --- |',
    ...rows,
  ].join('\n')
}

/** The sticky issue comment for a manifest (or a Spec Kit spec) DevSys could not accept. */
export function formatRejectedComment(
  label: string,
  acceptance: Exclude<Acceptance, { kind: 'saved' }>,
  what: 'manifest' | 'spec' = 'manifest',
): string {
  return [
    `### DevSys could not accept this ${what}`,
    '',
    formatProblems(label, acceptance.problems),
    '',
    `Nothing was created. Edit the issue to fix the ${what} and DevSys will check it again.`,
  ].join('\n')
}

/** The sticky issue comment for an accepted task. */
export function formatAcceptedComment(
  task: Task,
  result: 'created' | 'updated' | 'unchanged',
): string {
  const verb =
    result === 'created' ? 'created' : result === 'updated' ? 'updated' : 'checked (no change)'
  return [
    `### DevSys task \`${task.id}\` ${verb}`,
    '',
    '| task | title | revision | status |',
    '| --- | --- | --- | --- |',
    `| \`${task.id}\` | ${cell(task.title)} | ${task.revision} | ${task.status} |`,
    '',
    'The manifest is valid. DevSys keeps this comment up to date as the task moves on.',
  ].join('\n')
}

/** A short message for something DevSys stopped on (reason code → words). */
export function formatStopComment(title: string, message: string): string {
  return [`### ${title}`, '', redact(message)].join('\n')
}
