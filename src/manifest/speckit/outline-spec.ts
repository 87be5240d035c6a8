import type { SpecBlock, SpecItem, SpecOutline, SpecScenario, SpecStory } from './types.js'

const FENCE = /^( {0,3})(`{3,}|~{3,})\s*([^`\s]*)/
const HEADING = /^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$/
const TITLE = /^Feature Specification:\s*(.*)$/i
const STORY = /^User Story\s+(\d+)\s*[-\u2013\u2014:]\s*(.*?)\s*\(Priority:\s*([^)]*?)\s*\)\s*$/i
const INPUT = /^\*\*Input\*\*:\s*(?:User description:\s*)?(.*?)\s*$/i
const LIST_ITEM = /^ {0,3}[-*+]\s+(.*)$/
const NUMBERED = /^ {0,3}(\d{1,3})[.)]\s+(.*)$/
const ID_ITEM = /^\*\*([A-Z]{2,}-\d+)\*\*\s*:?\s*(.*)$/
const ENTITY = /^\*\*(.+?)\*\*\s*:?\s*(.*)$/
const FIELD = /^\*\*(Why this priority|Independent Test|Acceptance Scenarios)\*\*/i
const STEPS =
  /^(?:\*\*)?Given(?:\*\*)?\s+(.+?)\s*,?\s*(?:\*\*)?When(?:\*\*)?\s+(.+?)\s*,?\s*(?:\*\*)?Then(?:\*\*)?\s+(.+?)\s*$/

/** A level-2 heading's name without spec-kit's `*(mandatory)*` suffix, lowercase. */
export function sectionName(heading: string): string {
  return heading
    .replace(/\s*\*\([^)]*\)\*\s*$/, '')
    .trim()
    .toLowerCase()
}

/**
 * Reads the structure of a spec-kit spec line by line (spec-kit writes specs as headings, lists
 * and labelled paragraphs): title, level-2 sections, user stories with their scenarios, ids,
 * edge cases, key entities, ```devsys blocks, and the lines that are prose (not fenced code,
 * not HTML comments). Positions are 1-based columns of the text as written.
 */
export function outlineSpec(text: string): SpecOutline {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/)
  const out: SpecOutline = {
    sections: new Map(),
    badStoryHeadings: [],
    stories: [],
    requirements: [],
    criteria: [],
    ids: [],
    edgeCases: [],
    entities: [],
    devsysBlocks: [],
    proseLines: [],
  }
  let section = ''
  let subsection = ''
  let story: SpecStory | undefined
  let inScenarios = false
  let scenario: SpecScenario | undefined
  let inComment = false

  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i] as string
    const line = i + 1
    // Fenced code: skipped, apart from the ```devsys block's text.
    const fence = FENCE.exec(raw)
    if (fence && !inComment) {
      const close = closingFence(lines, i + 1, fence[2] as string)
      if ((fence[3] ?? '').toLowerCase() === 'devsys') out.devsysBlocks.push(block(lines, i, close))
      scenario = undefined
      i = close ?? lines.length
      continue
    }
    // HTML comments (spec-kit's template keeps its instructions in them) are not prose.
    const prose = stripComments(raw, inComment)
    inComment = prose.open
    out.proseLines.push({ line, text: prose.text })
    const content = prose.text
    const heading = HEADING.exec(content)
    if (heading) {
      const level = (heading[1] as string).length
      const name = heading[2] as string
      const column = content.indexOf(name) + 1
      scenario = undefined
      inScenarios = false
      if (level === 1) {
        const title = TITLE.exec(name)
        if (title && out.title === undefined) {
          const titleText = (title[1] ?? '').trim()
          const at = titleText === '' ? column : content.lastIndexOf(titleText) + 1
          out.title = { text: titleText, line, column: at }
        }
      } else if (level === 2) {
        section = sectionName(name)
        subsection = ''
        story = undefined
        if (!out.sections.has(section)) out.sections.set(section, { line, column })
      } else if (level === 3) {
        subsection = sectionName(name)
        story = undefined
        if (section === 'user scenarios & testing' && /^User Story\b/i.test(name)) {
          story = readStory(name, line, column, content)
          if (story) out.stories.push(story)
          else out.badStoryHeadings.push({ text: name, line, column })
        }
      }
      continue
    }
    const input = INPUT.exec(content.trim())
    if (input && out.input === undefined) out.input = (input[1] ?? '').replace(/^"(.*)"$/, '$1')
    if (story) {
      const read = readStoryLine(story, content, line, { inScenarios, scenario })
      inScenarios = read.inScenarios
      scenario = read.scenario
      continue
    }
    const item = LIST_ITEM.exec(content)
    if (!item) continue
    const body = item[1] ?? ''
    const column = content.indexOf(body) + 1
    const id = ID_ITEM.exec(body)
    if (id) {
      const found: SpecItem = {
        id: id[1] as string,
        text: (id[2] ?? '').trim(),
        line,
        column: column + 2,
      }
      out.ids.push(found)
      if (found.id.startsWith('FR-')) out.requirements.push(found)
      if (found.id.startsWith('SC-')) out.criteria.push(found)
    } else if (subsection === 'edge cases') {
      out.edgeCases.push(body.trim())
    } else if (subsection === 'key entities') {
      const entity = ENTITY.exec(body)
      out.entities.push(entity ? `${entity[1]}: ${entity[2]}` : body.trim())
    }
  }
  for (const s of out.stories) {
    for (const sc of s.scenarios) {
      const steps = STEPS.exec(sc.text)
      if (steps)
        sc.steps = {
          given: steps[1] as string,
          when: steps[2] as string,
          outcome: steps[3] as string,
        }
    }
  }
  return out
}

function readStory(
  name: string,
  line: number,
  column: number,
  content: string,
): SpecStory | undefined {
  const m = STORY.exec(name)
  if (!m) return undefined
  const priority = m[3] as string
  const story: SpecStory = {
    number: Number(m[1]),
    title: (m[2] as string).trim(),
    journey: '',
    scenarios: [],
    line,
    column,
  }
  if (/^P[1-9]\d*$/.test(priority)) story.priority = priority
  else {
    const at = content.lastIndexOf('Priority:') + 1
    story.priorityProblem = {
      line,
      column: at,
      message: `User Story ${story.number} has the priority '${priority}', not P1, P2, …`,
    }
  }
  return story
}

/** One line inside a user story: a scenario item, its continuation, a field or the journey. */
function readStoryLine(
  story: SpecStory,
  content: string,
  line: number,
  state: { inScenarios: boolean; scenario: SpecScenario | undefined },
): { inScenarios: boolean; scenario: SpecScenario | undefined } {
  const trimmed = content.trim()
  if (trimmed === '') return { inScenarios: state.inScenarios, scenario: undefined }
  const field = FIELD.exec(trimmed)
  if (field) {
    return {
      inScenarios: (field[1] as string).toLowerCase() === 'acceptance scenarios',
      scenario: undefined,
    }
  }
  if (state.inScenarios) {
    const numbered = NUMBERED.exec(content)
    if (numbered) {
      const text = (numbered[2] as string).trim()
      const scenario: SpecScenario = {
        number: Number(numbered[1]),
        text,
        line,
        column: content.indexOf(numbered[2] as string) + 1,
      }
      story.scenarios.push(scenario)
      return { inScenarios: true, scenario }
    }
    if (state.scenario && /^\s+\S/.test(content)) state.scenario.text += ` ${trimmed}`
    return state
  }
  story.journey = story.journey === '' ? trimmed : `${story.journey} ${trimmed}`
  return state
}

/** The line's text with HTML comments blanked (columns kept), and whether one is still open. */
function stripComments(raw: string, open: boolean): { text: string; open: boolean } {
  let text = ''
  let inside = open
  let i = 0
  while (i < raw.length) {
    const end = inside ? raw.indexOf('-->', i) : raw.indexOf('<!--', i)
    if (end === -1) {
      text += inside ? ' '.repeat(raw.length - i) : raw.slice(i)
      break
    }
    const stop = inside ? end + 3 : end
    text += inside ? ' '.repeat(stop - i) : raw.slice(i, stop)
    i = stop
    inside = !inside
  }
  return { text, open: inside }
}

function closingFence(lines: readonly string[], from: number, fence: string): number | undefined {
  for (let j = from; j < lines.length; j++) {
    const match = /^ {0,3}(`{3,}|~{3,})[ \t]*$/.exec(lines[j] ?? '')
    const candidate = match?.[1]
    if (candidate?.startsWith(fence.charAt(0)) && candidate.length >= fence.length) return j
  }
  return undefined
}

function block(lines: readonly string[], open: number, close: number | undefined): SpecBlock {
  const end = close ?? lines.length
  return {
    text: `${lines.slice(open + 1, end).join('\n')}\n`,
    lineOffset: open + 1,
    line: open + 1,
    column: 1,
  }
}
