import { parse } from 'yaml'
import type { Manifest } from '../../manifest/types.js'

/** Characters of plan.md and of tasks.md shown in the prompt. */
const CONTEXT_CHARS = 20_000

/**
 * The prompt's view of a task from a Spec Kit spec: its requirements, the scenarios that are not
 * acceptance checks, edge cases and success criteria, and the plan.md and tasks.md the task spec
 * carries under `context` (fenced: they are data). Empty for a manifest.
 */
export function specKitPromptView(manifest: Manifest, spec: string) {
  const view = manifest.speckit
  if (view === undefined) return { hasSpecKit: false }
  const context = readContext(spec)
  return {
    hasSpecKit: true,
    requirements: view.requirements,
    proseScenarios: view.scenarios.filter((s) => s.check === undefined),
    edgeCases: view.edgeCases,
    successCriteria: view.successCriteria,
    hasPlan: context.plan !== undefined,
    plan: fence(context.plan ?? ''),
    hasTasks: context.tasks !== undefined,
    tasks: fence(context.tasks ?? ''),
  }
}

function readContext(spec: string): { plan?: string; tasks?: string } {
  const document = parse(spec) as { context?: { plan?: unknown; tasks?: unknown } } | null
  const context = document?.context
  return {
    ...(typeof context?.plan === 'string' ? { plan: context.plan } : {}),
    ...(typeof context?.tasks === 'string' ? { tasks: context.tasks } : {}),
  }
}

function fence(text: string): string {
  const capped = text.length > CONTEXT_CHARS ? `${text.slice(0, CONTEXT_CHARS)}\n… (cut)` : text
  const fence = '`'.repeat(Math.max(3, ...[...capped.matchAll(/`+/g)].map((m) => m[0].length + 1)))
  return `${fence}markdown\n${capped.replace(/\n$/, '')}\n${fence}`
}
