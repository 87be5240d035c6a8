import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { buildTaskSpec } from '../../../src/manifest/build-task-spec.js'
import { parseManifest } from '../../../src/manifest/parse-manifest.js'

const fixture = (name: string) =>
  readFileSync(new URL(`../../fixtures/specs/${name}`, import.meta.url), 'utf8')
const blog = fixture('001-blog/spec.md')
const origin = { label: 'specs/001-blog/spec.md', path: 'specs/001-blog/spec.md' }

/** Every problem as `line:column where: message`, in order. */
function problemsOf(text: string, from = origin): string[] {
  const result = parseManifest(text, from)
  if (result.ok) throw new Error('expected problems')
  return result.problems.map((p) => `${p.line}:${p.column} ${p.pointer}: ${p.message}`)
}

describe('a Spec Kit spec as a manifest', () => {
  it('turns a complete spec into a manifest: id from the folder, stories with priorities, HTTP scenarios as checks', () => {
    const result = parseManifest(blog, origin)
    if (!result.ok) throw new Error(JSON.stringify(result.problems))
    const { manifest } = result
    expect(manifest).toMatchObject({
      id: '001-blog',
      title: 'Team blog',
      description: 'A small blog where the team posts news',
      stack: 'php',
      deploy: { target: 'local', environment: 'production' },
      tests: { command: ['phpunit', '--log-junit', 'build/junit.xml'] },
    })
    expect(manifest.stories).toEqual([
      {
        id: 'us1',
        title: 'Read the latest posts',
        priority: 'P1',
        as: 'reader',
        want: 'to see the newest posts on the home page',
        soThat: 'I know what the team is doing',
      },
      {
        id: 'us2',
        title: 'Open one post',
        priority: 'P2',
        as: 'user',
        want: 'A reader follows a link to a single post and reads all of it.',
      },
    ])
    expect(manifest.acceptance.map(({ description: _, ...check }) => check)).toEqual([
      {
        id: 'us1-as1',
        method: 'GET',
        path: '/',
        status: 200,
        bodyContains: ['Hello, world'],
        timeoutMs: 5000,
      },
      {
        id: 'us2-as1',
        method: 'GET',
        path: '/post.php?id=1',
        status: 200,
        bodyContains: ['The first post.'],
        timeoutMs: 5000,
      },
      { id: 'us2-as2', method: 'GET', path: '/post.php?id=999', status: 404, timeoutMs: 5000 },
    ])
    expect(
      manifest.speckit?.scenarios.map((s) => [s.story, s.number, s.line, s.check ?? s.reason]),
    ).toEqual([
      [1, 1, 32, 'us1-as1'],
      [1, 2, 33, 'the When step names no request path in backticks'],
      [2, 1, 47, 'us2-as1'],
      [2, 2, 48, 'us2-as2'],
    ])
    expect(manifest.speckit?.requirements.map((r) => r.id)).toEqual(['FR-001', 'FR-002', 'FR-003'])
    expect(manifest.speckit?.successCriteria).toEqual([
      { id: 'SC-001', text: 'A reader finds the newest post in under 5 seconds.' },
    ])
    expect(manifest.speckit?.entities).toEqual(['Post: a title, a body and a publication date.'])
    // The task spec carries the plan and tasks for the agent, and the scenarios' mapping.
    const spec = buildTaskSpec(
      manifest,
      { kind: 'push', repo: 'octo/blog', requester: 'octocat' },
      { plan: 'PLAN' },
    )
    expect(spec).toContain('context:\n  plan: PLAN')
    expect(spec).toContain('priority: P1')
  })

  it('reads the same spec again as the same manifest, keeping the id it was accepted with', () => {
    const first = parseManifest(blog, origin)
    const again = parseManifest(blog, { label: 'task 001-blog' }, { defaultId: '001-blog' })
    expect(again).toEqual(first)
  })

  it('refuses a spec with open markers, placeholders, a bad priority, duplicate ids and a bad stack, each at its line:column', () => {
    expect(
      problemsOf(fixture('open-markers.spec.md'), { label: 'x', path: 'specs/002-x/spec.md' }),
    ).toEqual(
      [
        "1:26 spec: template placeholder '[FEATURE NAME]' is still in the spec",
        "3:22 spec: template placeholder '[###-feature-name]' is still in the spec",
        "4:14 spec: template placeholder '[DATE]' is still in the spec",
        "5:31 spec: template placeholder '$ARGUMENTS' is still in the spec",
        '8:8 /stack: \'stack\' is "rubyy", which is not allowed',
        "13:20 spec: template placeholder '[Brief Title]' is still in the spec",
        'User Story 2 has no Given/When/Then acceptance scenario',
        "User Story 2 has the priority 'high', not P1, P2, …",
        'scenario 1 of User Story 2 is not written Given/When/Then',
        'open question: auth method not specified',
        'FR-001 is used twice (first at line 31)',
      ].map((p, i) => (i < 6 ? p : expect.stringContaining(p))),
    )
    const problems = problemsOf(fixture('open-markers.spec.md'))
    expect(problems).toContain(
      '21:5 User Story 2: User Story 2 has no Given/When/Then acceptance scenario',
    )
    expect(problems).toContain(
      "21:33 User Story 2: User Story 2 has the priority 'high', not P1, P2, …",
    )
    expect(problems).toContain(
      '25:4 User Story 2: scenario 1 of User Story 2 is not written Given/When/Then',
    )
    expect(problems).toContain('32:52 spec: open question: auth method not specified')
    expect(problems).toContain('33:5 FR-001: FR-001 is used twice (first at line 31)')
  })

  it('asks for the mandatory sections, a ```devsys block (with an example) and a runnable scenario', () => {
    const bare = '# Feature Specification: Notes\n\nJust some notes.\n'
    const problems = parseManifest(bare, { label: 'body', speckit: true })
    if (problems.ok) throw new Error('expected problems')
    expect(problems.problems.map((p) => `${p.line}:${p.column} ${p.message}`)).toEqual([
      "1:1 the mandatory section '## Requirements' is missing",
      "1:1 the mandatory section '## User Scenarios & Testing' is missing",
      '1:26 the spec has no ```devsys block saying how to build, test and deploy it',
    ])
    expect(problems.problems[2]?.hint).toContain('stack: php')

    // A spec whose scenarios are all prose, and no `acceptance:` in the block.
    const prose = blog
      .replace('a reader opens `/`', 'a reader visits the home page')
      .replace('a reader opens `/post.php?id=1`', 'a reader follows a link')
      .replace('a visitor opens `/post.php?id=999`', 'a visitor follows a dead link')
    expect(problemsOf(prose)).toEqual([
      '20:4 /acceptance: no scenario is an HTTP check DevSys can run, and the ```devsys block lists none',
    ])
  })

  it('points at the spec line of a derived check the schema refuses, and skips code and comments', () => {
    const spec = blog
      .replace('a visitor opens `/post.php?id=999`', 'a visitor opens `/../etc/passwd`')
      .replace(
        '## Requirements',
        '<!-- [NOT A PLACEHOLDER] -->\n```text\n[ALSO NOT]\n```\n## Requirements',
      )
    expect(problemsOf(spec)).toEqual([expect.stringMatching(/^48:4 \/acceptance\/2\/path: /)])
  })
})

describe('a Spec Kit spec: more of its rules', () => {
  it('wants every story heading written with a priority, and every story with a scenario', () => {
    const spec = blog
      .replace(
        '### User Story 2 - Open one post (Priority: P2)',
        '### User Story 2 - Open one post',
      )
      .replace('1. **Given** a blog with the post', 'Given a blog with the post')
      .replace('2. **Given** a blog with posts', 'Given a blog with posts')
    expect(problemsOf(spec)).toEqual([
      '22:5 User Story 1: User Story 1 has no Given/When/Then acceptance scenario',
      "37:5 User Story: 'User Story 2 - Open one post' is not written 'User Story N - Title (Priority: PN)'",
    ])
  })

  it('reports a duplicate success criterion and an unnamed feature', () => {
    const spec = blog
      .replace('# Feature Specification: Team blog', '# Feature Specification:')
      .replace(
        '- **SC-001**: A reader finds',
        '- **SC-001**: Pages load fast.\n- **SC-001**: A reader finds',
      )
    expect(problemsOf(spec)).toEqual([
      '1:3 title: the feature has no name',
      '71:5 SC-001: SC-001 is used twice (first at line 70)',
    ])
  })

  it('takes the id from the ```devsys block over the folder, and points a taken id at it', () => {
    const spec = blog.replace('stack: php\n', 'id: team-news\nstack: php\n')
    const result = parseManifest(spec, origin)
    if (!result.ok) throw new Error(JSON.stringify(result.problems))
    expect(result.manifest.id).toBe('team-news')
    expect(result.idAt).toEqual({ line: 9, column: 5, endLine: 9 })
  })

  it('refuses a second ```devsys block, and checks the block’s YAML at its lines', () => {
    const twice = blog.replace(
      '## Requirements',
      '```devsys\nstack: static\n```\n\n## Requirements',
    )
    expect(problemsOf(twice)).toEqual([
      '54:1 devsys: the spec has a second ```devsys block (the first is at line 8)',
    ])
    const broken = blog.replace(
      'deploy:\n  target: local',
      'deploy:\n  target: moon\n  colour: red',
    )
    expect(problemsOf(broken)).toEqual([
      '11:11 /deploy/target: \'deploy.target\' is "moon", which is not allowed',
      "12:3 /deploy/colour: unknown property 'colour' in 'deploy'",
    ])
  })

  it('refuses a spec over the size limit before reading it', () => {
    const result = parseManifest(blog, origin, { maxBytes: 100 })
    expect(result).toMatchObject({
      ok: false,
      problems: [
        {
          line: 1,
          column: 1,
          message: expect.stringMatching(/^spec is \d+ bytes, over the 100-byte limit$/),
        },
      ],
    })
  })
})
