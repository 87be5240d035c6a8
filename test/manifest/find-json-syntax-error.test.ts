import { describe, expect, it } from 'vitest'
import { findJsonSyntaxError } from '../../src/manifest/find-json-syntax-error.js'

describe('findJsonSyntaxError', () => {
  it('finds nothing in valid JSON, as JSON.parse agrees', () => {
    for (const text of [
      '{}',
      '[]',
      ' {"a": [1, -2.5e3, true, false, null, "x\\u00e9\\n"], "b": {}} ',
      '"s"',
      '0',
    ]) {
      expect(JSON.parse(text)).toBeDefined()
      expect(findJsonSyntaxError(text)).toBeNull()
    }
  })

  it.each([
    ['{"a": 1,}', 7, "trailing comma before '}'"],
    ['[1, 2,]', 5, "trailing comma before ']'"],
    ['{"a": 1 "b": 2}', 7, "expected ',' or '}' after the property value"],
    ['[1 2]', 2, "expected ',' or ']' after the item"],
    ['{a: 1}', 1, "expected a property name in double quotes but found 'a'"],
    ["{'a': 1}", 1, "expected a property name in double quotes but found '''"],
    ['{"a" 1}', 5, "expected ':' after the property name but found '1'"],
    ['{"a": tru}', 6, "expected a value but found 't'"],
    ['{"a": \'x\'}', 6, 'strings must use double quotes in JSON'],
    ['{"a": 01}', 7, "expected ',' or '}' after the property value"],
    ['{"a": "x\ny"}', 8, 'line break or control character inside a string'],
    ['{"a": "\\x"}', 7, 'invalid escape \\x in string'],
    ['{"a": "unclosed}', 6, 'string is never closed'],
    ['{"a": 1}}', 8, "unexpected '}' after the end of the JSON value"],
    ['', 0, 'expected a value but found the end of the text'],
    ['{"a": [1, 2}', 11, "expected ',' or ']' after the item"],
  ])('%j: offset %i, %s', (text, offset, message) => {
    expect(() => JSON.parse(text)).toThrow()
    expect(findJsonSyntaxError(text)).toMatchObject({ offset, message })
  })

  it('handles very deep nesting without overflowing the stack', () => {
    const deep = `${'['.repeat(200_000)}${']'.repeat(199_999)}`
    expect(findJsonSyntaxError(deep)).toMatchObject({
      offset: deep.length,
      message: "expected ',' or ']' after the item",
    })
  })
})
