import type { ManifestProblem } from '../types.js'
import type { SpecItem, SpecOutline, SpecPosition } from './types.js'

/** The level-2 sections spec-kit marks mandatory (User Scenarios, Requirements), and where to put them. */
const MANDATORY: ReadonlyArray<{ name: string; heading: string }> = [
  { name: 'user scenarios & testing', heading: '## User Scenarios & Testing' },
  { name: 'requirements', heading: '## Requirements' },
]

/**
 * Structural problems of a spec: a missing title or mandatory section, a user story without a
 * priority or without a Given/When/Then scenario, a scenario not written Given/When/Then, no
 * functional requirement, and FR-/SC- ids used twice (at the duplicate, naming the first).
 */
export function checkOutline(outline: SpecOutline): ManifestProblem[] {
  const problems: ManifestProblem[] = []
  const at = (pointer: string, where: SpecPosition, message: string, hint: string) =>
    problems.push({
      pointer,
      line: where.line,
      column: where.column,
      endLine: where.line,
      message,
      hint,
    })
  const top = { line: 1, column: 1 }

  if (outline.title === undefined) {
    at(
      'title',
      top,
      "the spec has no '# Feature Specification: <name>' title",
      'start the spec with a line like `# Feature Specification: Blog`',
    )
  } else if (outline.title.text === '') {
    at(
      'title',
      outline.title,
      'the feature has no name',
      'write the name after the colon: `# Feature Specification: Blog`',
    )
  }
  for (const { name, heading } of MANDATORY) {
    if (!outline.sections.has(name)) {
      at(
        heading.slice(3),
        top,
        `the mandatory section '${heading}' is missing`,
        `add a \`${heading}\` section (spec-kit's template has it)`,
      )
    }
  }
  checkStories(outline, at)
  const requirements = outline.sections.get('requirements')
  if (requirements !== undefined && outline.requirements.length === 0) {
    at(
      'Requirements',
      requirements,
      'the Requirements section lists no functional requirement',
      'add items like `- **FR-001**: System MUST show the list of posts`',
    )
  }
  for (const duplicate of findDuplicates(outline.ids)) {
    at(
      duplicate.id,
      duplicate,
      `${duplicate.id} is used twice (first at line ${duplicate.first.line})`,
      `give this item the next free number, e.g. ${duplicate.id.replace(/\d+$/, '')}${String(duplicate.next).padStart(3, '0')}`,
    )
  }
  return problems
}

type At = (pointer: string, where: SpecPosition, message: string, hint: string) => void

function checkStories(outline: SpecOutline, at: At): void {
  const section = outline.sections.get('user scenarios & testing')
  for (const bad of outline.badStoryHeadings) {
    at(
      'User Story',
      bad,
      `'${bad.text}' is not written 'User Story N - Title (Priority: PN)'`,
      'write the heading like `### User Story 1 - Read posts (Priority: P1)`',
    )
  }
  if (
    section !== undefined &&
    outline.stories.length === 0 &&
    outline.badStoryHeadings.length === 0
  ) {
    at(
      'User Scenarios & Testing',
      section,
      'the spec has no user story',
      'add `### User Story 1 - <title> (Priority: P1)` with its acceptance scenarios',
    )
  }
  for (const story of outline.stories) {
    const name = `User Story ${story.number}`
    if (story.priorityProblem)
      at(
        name,
        story.priorityProblem,
        story.priorityProblem.message,
        'write the priority as P1 (most important), P2, P3, …',
      )
    for (const scenario of story.scenarios) {
      if (scenario.steps === undefined) {
        at(
          name,
          scenario,
          `scenario ${scenario.number} of ${name} is not written Given/When/Then`,
          'write it as `1. **Given** <state>, **When** <action>, **Then** <outcome>`',
        )
      }
    }
    if (!story.scenarios.some((s) => s.steps !== undefined)) {
      at(
        name,
        story,
        `${name} has no Given/When/Then acceptance scenario`,
        'add `**Acceptance Scenarios**:` then `1. **Given** <state>, **When** <action>, **Then** <outcome>`',
      )
    }
  }
}

function findDuplicates(
  ids: readonly SpecItem[],
): Array<SpecItem & { first: SpecItem; next: number }> {
  const first = new Map<string, SpecItem>()
  const out: Array<SpecItem & { first: SpecItem; next: number }> = []
  const highest = new Map<string, number>()
  for (const item of ids) {
    const prefix = item.id.replace(/\d+$/, '')
    highest.set(prefix, Math.max(highest.get(prefix) ?? 0, Number(item.id.slice(prefix.length))))
  }
  for (const item of ids) {
    const seen = first.get(item.id)
    if (seen === undefined) {
      first.set(item.id, item)
      continue
    }
    const prefix = item.id.replace(/\d+$/, '')
    const next = (highest.get(prefix) ?? 0) + 1
    highest.set(prefix, next)
    out.push({ ...item, first: seen, next })
  }
  return out
}
