import { renderTemplate } from '../scaffold/render-template.js'
import type { GenerateRequest } from '../types.js'

/**
 * Writes the prompt handed to a coding agent: the rules it works under, the feedback of a
 * `/revise` (quoted), and the task spec. Only triple-brace (unescaped) variables are used: the
 * prompt is Markdown read by the agent, not HTML.
 */
export async function buildPrompt(
  request: Pick<GenerateRequest, 'manifest' | 'spec' | 'feedback'>,
  limits: { forbiddenPaths: readonly string[]; maxOutputBytes: number },
): Promise<string> {
  const { manifest, spec } = request
  const feedback = request.feedback?.trim() ?? ''
  return renderTemplate('command/prompt.md', {
    id: manifest.id,
    title: manifest.title,
    stack: manifest.stack,
    testCommand: manifest.tests.command.join(' '),
    junit: manifest.tests.junit,
    forbiddenPaths: limits.forbiddenPaths,
    maxOutput:
      limits.maxOutputBytes >= 1024 * 1024
        ? `${Math.floor(limits.maxOutputBytes / 1024 / 1024)} MiB`
        : `${Math.floor(limits.maxOutputBytes / 1024)} KiB`,
    hasFeedback: feedback !== '',
    feedback: feedback
      .split(/\r?\n/)
      .map((line) => (line === '' ? '>' : `> ${line}`))
      .join('\n'),
    spec: spec.replace(/\n$/, ''),
    // A fence longer than any backtick run in the spec, so the spec cannot close it early.
    fence: '`'.repeat(Math.max(3, ...[...spec.matchAll(/`+/g)].map((m) => m[0].length + 1))),
  })
}
