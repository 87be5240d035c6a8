import { describe, expect, it } from 'vitest'
import { extractManifestFromIssue } from '../../../src/manifest/extract-manifest.js'

describe('a Spec Kit spec in an issue body', () => {
  it('reads `spec: <path>` on a line of its own as a spec file reference', () => {
    expect(extractManifestFromIssue('Build it.\n\nspec: `specs/001-blog/spec.md`\n')).toEqual({
      kind: 'file',
      path: 'specs/001-blog/spec.md',
    })
    expect(extractManifestFromIssue('Spec: ./specs/001-blog/spec.md')).toEqual({
      kind: 'file',
      path: 'specs/001-blog/spec.md',
    })
  })

  it('refuses a spec reference that is not a .md file or not a safe repository path', () => {
    expect(extractManifestFromIssue('spec: specs/001-blog/spec.json')).toEqual({
      kind: 'invalid',
      message: 'The spec file `specs/001-blog/spec.json` must be a Spec Kit spec.md (end in .md).',
    })
    const unsafe = extractManifestFromIssue('spec: ../other/spec.md')
    expect(unsafe).toMatchObject({ kind: 'invalid' })
    expect(unsafe.kind === 'invalid' ? unsafe.message : '').toContain(
      "contains '..'. Name a file by its path from the repository root, e.g. `spec: specs/001-blog/spec.md`",
    )
  })

  it('takes a body with a `# Feature Specification:` line as the spec itself', () => {
    const body = '# Feature Specification: Blog\n\n```devsys\nstack: php\n```\n'
    expect(extractManifestFromIssue(body)).toEqual({ kind: 'spec', text: body })
    // Inside a code block the line is only an example.
    expect(extractManifestFromIssue('```md\n# Feature Specification: Blog\n```\n')).toEqual({
      kind: 'none',
    })
  })

  it('refuses a body that is a spec and also names or holds a manifest', () => {
    expect(
      extractManifestFromIssue('# Feature Specification: Blog\n\nmanifest: specs/blog.json\n'),
    ).toEqual({
      kind: 'invalid',
      message:
        'The issue body is a Spec Kit spec (line 1) and also has a file reference (line 3); keep only one.',
    })
    expect(
      extractManifestFromIssue('# Feature Specification: Blog\n\n```yaml\nid: x\n```\n'),
    ).toMatchObject({
      kind: 'invalid',
      message: expect.stringContaining('a manifest block (line 3)'),
    })
  })
})
