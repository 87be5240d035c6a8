import { compileSchema } from '../compile-schema.js'
import type { LoadedDocument, SourcePosition } from '../load-document.js'
import type {
  AcceptanceCheck,
  Manifest,
  ManifestOrigin,
  ManifestProblem,
  ParseResult,
} from '../types.js'
import { sortProblems, validateDocument } from '../validate-document.js'
import { checkOutline } from './check-outline.js'
import { findOpenMarkers } from './find-open-markers.js'
import { outlineSpec } from './outline-spec.js'
import { type DevsysBlock, readDevsysBlock } from './read-devsys-block.js'
import { readScenario } from './read-scenario.js'
import type { SpecKitView, SpecOutline, SpecPosition, UnderstoodScenario } from './types.js'

const getValidator = compileSchema('project.schema.json')
const JOURNEY = /^As an? (.+?), I want (.+?)(?:,? so that (.+?))?\.?$/i
const SLUG = /^[a-z0-9][a-z0-9-]{0,62}$/

/** True when the text is a Spec Kit feature spec: a .md file, or text that starts like one. */
export function isSpecKitSpec(text: string, origin: ManifestOrigin): boolean {
  if (origin.speckit !== undefined) return origin.speckit
  if (origin.path !== undefined) return /\.md$/i.test(origin.path)
  return origin.format === undefined && /^# Feature Specification:/im.test(text)
}

/**
 * Parses and validates a Spec Kit spec into a manifest, reporting every problem at once at its
 * line and column in the spec: structure (title, mandatory sections, stories with a priority and
 * a Given/When/Then scenario, unique FR-/SC- ids), open markers and template placeholders, the
 * ```devsys block against the project schema, and the manifest it all makes.
 */
export function parseSpecKit(
  text: string,
  origin: ManifestOrigin,
  opts: { maxBytes: number; defaultId?: string | undefined },
): ParseResult {
  const offset = origin.lineOffset ?? 0
  const shift = (p: ManifestProblem): ManifestProblem => ({
    ...p,
    line: p.line + offset,
    endLine: p.endLine + offset,
  })
  const bytes = Buffer.byteLength(text, 'utf8')
  if (bytes > opts.maxBytes) {
    const message = `spec is ${bytes} bytes, over the ${opts.maxBytes}-byte limit`
    return {
      ok: false,
      problems: [
        shift({
          pointer: 'spec',
          line: 1,
          column: 1,
          endLine: 1,
          message,
          hint: 'shorten the spec',
        }),
      ],
    }
  }
  // 1. The spec's own rules, and the ```devsys block (its positions already in the spec).
  const outline = outlineSpec(text)
  const anchor = outline.title ?? { line: 1, column: 1 }
  const problems = [...checkOutline(outline), ...findOpenMarkers(outline.proseLines)].map(shift)
  const block = readDevsysBlock(outline.devsysBlocks, origin, anchor)
  problems.push(...block.problems)
  if (!block.ok || problems.length > 0) return { ok: false, problems: sortProblems(problems) }

  // 2. The manifest the spec makes, validated with positions mapped back onto the spec.
  const { manifest, view, places } = assemble(outline, block.block, origin, opts.defaultId)
  const at = (p: SpecPosition): SourcePosition => ({
    line: p.line + offset,
    column: p.column,
    endLine: p.line + offset,
  })
  // Values from the spec's text point at it; the rest at where the ```devsys block wrote them.
  const locate: LoadedDocument['locate'] = (segments, key) => {
    const place = places(segments)
    return 'block' in place ? block.locate(place.block, key) : at(place)
  }
  const doc: LoadedDocument = { value: manifest, format: 'yaml', locate }
  const empty = manifest.acceptance.length === 0
  // No check at all is said once, in the spec's words, not as the schema's minItems.
  const found = validateDocument(doc, getValidator()).filter(
    (p) => !(empty && p.pointer === '/acceptance'),
  )
  if (empty) {
    const section = outline.sections.get('user scenarios & testing') ?? anchor
    found.push({
      pointer: '/acceptance',
      ...at(section),
      message: 'no scenario is an HTTP check DevSys can run, and the ```devsys block lists none',
      hint: 'write at least one scenario like `**When** a visitor opens `/`, **Then** the page shows "Blog"` (README: Scenario grammar), or add `acceptance:` to the ```devsys block',
    })
  }
  if (found.length > 0) return { ok: false, problems: sortProblems(found) }
  return {
    ok: true,
    manifest: { ...manifest, speckit: view },
    text,
    idAt: locate(['id']),
  }
}

/** Where a manifest value came from: a place in the spec, or a path in the ```devsys block. */
type Places = (segments: readonly string[]) => SpecPosition | { block: string[] }

function assemble(
  outline: SpecOutline,
  block: DevsysBlock,
  origin: ManifestOrigin,
  defaultId: string | undefined,
): { manifest: Manifest; view: SpecKitView; places: Places } {
  const title = outline.title?.text ?? ''
  const scenarios: UnderstoodScenario[] = []
  const derived: Array<{ check: AcceptanceCheck; at: SpecPosition }> = []
  for (const story of outline.stories) {
    for (const scenario of story.scenarios) {
      if (scenario.steps === undefined) continue
      const reading = readScenario(scenario.steps.when, scenario.steps.outcome)
      const seen: UnderstoodScenario = {
        story: story.number,
        number: scenario.number,
        line: scenario.line,
        text: scenario.text,
      }
      if (reading.kind === 'check') {
        const id = `us${story.number}-as${scenario.number}`
        const description = `User Story ${story.number}, scenario ${scenario.number}: ${scenario.text}`
        derived.push({
          check: { id, description: cut(description, 500), ...reading.check } as AcceptanceCheck,
          at: scenario,
        })
        seen.check = id
      } else {
        seen.reason = reading.reason
      }
      scenarios.push(seen)
    }
  }
  const extra = (block.acceptance as AcceptanceCheck[] | undefined) ?? []
  const folder = /(?:^|\/)([^/]+)\/[^/]+\.md$/i.exec(origin.path ?? '')?.[1]
  const id =
    (block.id as string | undefined) ??
    defaultId ??
    (folder !== undefined && SLUG.test(folder) ? folder : slugOf(folder ?? title))
  const input =
    outline.input !== undefined && !outline.input.includes('$ARGUMENTS') ? outline.input : ''
  const { id: _id, acceptance: _acceptance, ...rest } = block
  const manifest = {
    id,
    title,
    ...rest,
    description: (block.description as string | undefined) || input,
    stories: outline.stories.map((s) => ({
      id: `us${s.number}`,
      title: s.title,
      ...(s.priority ? { priority: s.priority } : {}),
      ...storyOf(s.journey, s.title),
    })),
    acceptance: [...derived.map((d) => d.check), ...extra],
  } as unknown as Manifest
  const view: SpecKitView = {
    scenarios,
    requirements: outline.requirements.map(({ id: rid, text }) => ({ id: rid, text })),
    successCriteria: outline.criteria.map(({ id: cid, text }) => ({ id: cid, text })),
    edgeCases: outline.edgeCases,
    entities: outline.entities,
  }
  const top = outline.title ?? { line: 1, column: 1 }
  const places: Places = (segments) => {
    const [first, index, ...rest] = segments
    const i = Number(index)
    if (first === 'title') return top
    if (first === 'stories') return outline.stories[i] ?? top
    if (first === 'acceptance' && index !== undefined && i < derived.length) {
      return derived[i]?.at ?? top
    }
    if (first === 'acceptance' && index !== undefined) {
      return { block: ['acceptance', String(i - derived.length), ...rest] }
    }
    if (first === 'id' && block.id === undefined) return top
    if (first === 'description' && block.description === '') return top
    return { block: [...segments] }
  }
  return { manifest, view, places }
}

/** The story's `as`/`want`/`soThat` from an "As a …, I want …, so that …" journey. */
function storyOf(journey: string, title: string): { as: string; want: string; soThat?: string } {
  const m = JOURNEY.exec(journey)
  if (m) return { as: m[1] as string, want: m[2] as string, ...(m[3] ? { soThat: m[3] } : {}) }
  return { as: 'user', want: cut(journey === '' ? title : journey, 2000) }
}

function slugOf(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+/, '')
    .slice(0, 63)
    .replace(/-+$/, '')
}

function cut(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text
}
