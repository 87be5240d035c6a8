import { describe, expect, it } from 'vitest'
import { locatePointer } from '../../src/manifest/locate-pointer.js'

describe('locatePointer', () => {
  const yaml = 'title: Blog\nid: blog\nacceptance:\n  - path: /\n'

  it('finds a value, with the issue-body line offset applied', () => {
    expect(locatePointer(yaml, { label: 'x', format: 'yaml' }, '/id')).toEqual({
      line: 2,
      column: 5,
      endLine: 2,
    })
    expect(
      locatePointer(yaml, { label: 'x', format: 'yaml', lineOffset: 4 }, '/acceptance/0/path'),
    ).toEqual({
      line: 8,
      column: 11,
      endLine: 8,
    })
  })

  it('falls back to the nearest written ancestor, then to the first line of unparsable text', () => {
    expect(locatePointer(yaml, { label: 'x', format: 'yaml' }, '/acceptance/0/status')).toEqual({
      line: 4,
      column: 5,
      endLine: 4,
    })
    expect(locatePointer('{', { label: 'x', lineOffset: 2 }, '/id')).toEqual({
      line: 3,
      column: 1,
      endLine: 3,
    })
  })
})
