import { lstat, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { FEEDBACK_PATH, TASK_SPEC_PATH } from './bookkeeping-paths.js'
import { writeFileInside } from './write-file-inside.js'

export { FEEDBACK_PATH, TASK_SPEC_PATH }

const FEEDBACK_HEADER =
  '# Feedback\n\nRequests made with `/revise`, oldest first. DevSys adds one section per revision.\n'

/**
 * Writes the task spec to `.devsys/task.yml` and appends feedback, if any, to
 * `.devsys/feedback.md` as a numbered `## Revision N` section. Feedback equal to the latest
 * section is not added again, so a retried job leaves the file as it was.
 */
export async function recordTask(
  workspace: string,
  spec: string,
  feedback?: string,
): Promise<void> {
  await writeFileInside(workspace, TASK_SPEC_PATH, spec.endsWith('\n') ? spec : `${spec}\n`)
  const text = feedback?.trim() ?? ''
  if (text === '') return

  const existing = await readRegularFile(join(workspace, FEEDBACK_PATH))
  const sections = [...existing.matchAll(/^## Revision (\d+)\n\n((?:>.*\n)*)/gm)]
  const last = sections.at(-1)
  // Quoted, so a heading inside the feedback cannot pass for a new section.
  const quoted = `${text
    .split(/\r?\n/)
    .map((line) => (line === '' ? '>' : `> ${line}`))
    .join('\n')}\n`
  if (last?.[2] === quoted) return

  const number = last === undefined ? 1 : Number(last[1]) + 1
  const base = existing === '' ? FEEDBACK_HEADER : existing.replace(/\n*$/, '\n')
  await writeFileInside(workspace, FEEDBACK_PATH, `${base}\n## Revision ${number}\n\n${quoted}`)
}

/** Reads a file only if it is a regular file: a symlink could point at a secret elsewhere. */
async function readRegularFile(path: string): Promise<string> {
  const stat = await lstat(path).catch(() => null)
  return stat?.isFile() ? readFile(path, 'utf8') : ''
}
