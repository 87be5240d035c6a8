import type { AcceptanceCheck, Manifest } from '../manifest/types.js'

/** Escapes text for one Markdown table cell. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ')
}

/**
 * The PR body's account of a Spec Kit spec, scenario by scenario: which became which acceptance
 * check and which went to the checklist (with the grammar's reason), then the checklist itself:
 * those scenarios, every functional requirement, edge case and success criterion. No lines for
 * a task from a manifest.
 */
export function formatSpecUnderstanding(manifest: Manifest): string[] {
  const view = manifest.speckit
  if (view === undefined) return []
  const checks = new Map(manifest.acceptance.map((a) => [a.id, a]))
  const priority = new Map(manifest.stories.map((s) => [s.id, s.priority]))
  const rows = view.scenarios.map((s) => {
    const p = priority.get(`us${s.story}`)
    const name = `User Story ${s.story}${p ? ` (${p})` : ''}, scenario ${s.number}`
    const check = s.check === undefined ? undefined : checks.get(s.check)
    const became =
      check === undefined
        ? `checklist: ${s.reason ?? 'not an HTTP check'}`
        : `acceptance check \`${s.check}\`: ${describeCheck(check)}`
    return `| ${cell(name)} | ${s.line} | ${cell(s.text)} | ${cell(became)} |`
  })
  const checklist = [
    ...view.scenarios
      .filter((s) => s.check === undefined)
      .map((s) => `- [ ] User Story ${s.story}, scenario ${s.number}: ${s.text}`),
    ...view.requirements.map((r) => `- [ ] ${r.id}: ${r.text}`),
    ...view.edgeCases.map((e) => `- [ ] Edge case: ${e}`),
    ...view.successCriteria.map((c) => `- [ ] ${c.id}: ${c.text}`),
  ]
  return [
    '#### What DevSys understood from the spec',
    '| scenario | line | as written | became |',
    '| --- | --- | --- | --- |',
    ...rows,
    '',
    '#### Checklist (given to the coding agent; not checked automatically)',
    ...(checklist.length === 0
      ? ['- (nothing: every scenario is an acceptance check)']
      : checklist),
    '',
  ]
}

function describeCheck(check: AcceptanceCheck): string {
  const expect = [
    `status ${check.status}`,
    ...(check.bodyContains ?? []).map((t) => `contains “${t}”`),
  ]
  const body = check.body === undefined ? '' : ` with \`${check.body}\``
  return `\`${check.method} ${check.path}\`${body} → ${expect.join(', ')}`
}
