/** Types of a GitHub Spec Kit feature spec (specs/<NNN-feature>/spec.md) as DevSys reads it. */

/** A 1-based place in the spec's text. */
export interface SpecPosition {
  line: number
  column: number
}

/** One numbered `**Given** …, **When** …, **Then** …` item of a user story. */
export interface SpecScenario extends SpecPosition {
  /** Its number in the story's list (1-based). */
  number: number
  /** The item's text, continuation lines joined. */
  text: string
  /** The three steps; undefined when the item is not written Given/When/Then. */
  steps?: { given: string; when: string; outcome: string }
}

/** A `### User Story N - Title (Priority: PN)` block. */
export interface SpecStory extends SpecPosition {
  number: number
  title: string
  /** `P1`…`Pn` when written correctly; otherwise undefined and priorityProblem says why. */
  priority?: string
  priorityProblem?: SpecPosition & { message: string }
  /** The plain-language journey: the paragraphs that are not labelled fields. */
  journey: string
  scenarios: SpecScenario[]
}

/** A `- **FR-001**: …` or `- **SC-001**: …` item. */
export interface SpecItem extends SpecPosition {
  id: string
  text: string
}

/** A fenced ```devsys block: its text and the number of spec lines before its first line. */
export interface SpecBlock extends SpecPosition {
  text: string
  lineOffset: number
}

/** The spec's structure, positions kept; nothing is validated yet. */
export interface SpecOutline {
  /** The `# Feature Specification: <name>` line (name empty when missing). */
  title?: SpecPosition & { text: string }
  /** The user description of the `**Input**:` line, when present. */
  input?: string
  /** Level-2 section headings by normalized name (lowercase, `*(mandatory)*` dropped). */
  sections: Map<string, SpecPosition>
  /** `### User Story` headings that are not written `User Story N - Title (Priority: PN)`. */
  badStoryHeadings: Array<SpecPosition & { text: string }>
  stories: SpecStory[]
  requirements: SpecItem[]
  criteria: SpecItem[]
  /** Every `**XX-000**` id written anywhere (FR-, SC-), for the uniqueness check. */
  ids: SpecItem[]
  edgeCases: string[]
  entities: string[]
  devsysBlocks: SpecBlock[]
  /** Lines (1-based) outside fenced code and HTML comments, for the placeholder scan. */
  proseLines: Array<{ line: number; text: string }>
}

/** What DevSys made of one scenario, shown in the PR body. */
export interface UnderstoodScenario {
  story: number
  number: number
  line: number
  text: string
  /** The acceptance check's id, when the scenario became one. */
  check?: string
  /** Why it went to the checklist instead. */
  reason?: string
}

/** The parts of a spec the manifest has no field for: they go to the agent and the PR. */
export interface SpecKitView {
  scenarios: UnderstoodScenario[]
  requirements: Array<{ id: string; text: string }>
  successCriteria: Array<{ id: string; text: string }>
  edgeCases: string[]
  entities: string[]
}
