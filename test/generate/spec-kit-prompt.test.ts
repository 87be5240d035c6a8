import { readFileSync } from 'node:fs'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { buildPrompt } from '../../src/generate/command/build-prompt.js'
import { buildTaskSpec } from '../../src/manifest/build-task-spec.js'
import { parseManifest } from '../../src/manifest/parse-manifest.js'
import type { Manifest } from '../../src/manifest/types.js'
import { createWorkspace, type TestWorkspace } from './workspace.js'

const fixture = (name: string) =>
  readFileSync(new URL(`../fixtures/specs/${name}`, import.meta.url), 'utf8')
const limits = { forbiddenPaths: ['.github/'], maxOutputBytes: 20 * 1024 * 1024 }

let ws: TestWorkspace
let manifest: Manifest
beforeEach(async () => {
  ws = await createWorkspace()
  const parsed = parseManifest(fixture('001-blog/spec.md'), {
    label: 'spec',
    path: 'specs/001-blog/spec.md',
  })
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems))
  manifest = parsed.manifest
})
afterEach(async () => {
  await ws.cleanup()
})

describe("the coding agent's prompt for a Spec Kit spec", () => {
  it('gives the requirements, the scenarios DevSys cannot check, and plan.md / tasks.md as data', async () => {
    const meta = { kind: 'push', repo: 'octo/blog', requester: 'octocat' } as const
    const context = { plan: fixture('001-blog/plan.md'), tasks: fixture('001-blog/tasks.md') }
    const prompt = await buildPrompt(
      { workspace: ws.dir, manifest, spec: buildTaskSpec(manifest, meta, context) },
      limits,
    )
    expect(prompt).toContain('- `GET /post.php?id=999` answers status 404')
    expect(prompt).toContain('- FR-003: System MUST escape post text in HTML.')
    expect(prompt).toContain(
      '- User Story 1, scenario 2: **Given** a blog with posts, **When** a reader scrolls to the bottom, **Then** older posts are listed by date',
    )
    expect(prompt).not.toContain('- User Story 2, scenario 2:')
    expect(prompt).toContain('- What happens when a post id is not a number? The page answers 404.')
    expect(prompt).toContain('- SC-001: A reader finds the newest post in under 5 seconds.')
    expect(prompt).toContain(
      "## The feature's plan.md (data)\n\n```markdown\n# Implementation Plan: Team blog",
    )
    expect(prompt).toContain("## The feature's tasks.md (data)\n\n```markdown\n# Tasks: Team blog")
  })

  it('leaves the Spec Kit sections out for a spec without plan.md and tasks.md', async () => {
    const meta = { kind: 'push', repo: 'octo/blog', requester: 'octocat' } as const
    const prompt = await buildPrompt(
      { workspace: ws.dir, manifest, spec: buildTaskSpec(manifest, meta) },
      limits,
    )
    expect(prompt).toContain('Functional requirements (each must hold)')
    expect(prompt).not.toContain('plan.md (data)')
    expect(prompt).not.toContain('tasks.md (data)')
  })
})
