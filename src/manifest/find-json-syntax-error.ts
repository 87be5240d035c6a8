/** A JSON syntax error at a character offset, in words a manifest author can act on. */
export interface JsonSyntaxError {
  /** 0-based UTF-16 offset into the text. */
  offset: number
  message: string
  hint: string
}

const WHITESPACE = new Set([' ', '\t', '\n', '\r'])
const ESCAPES = new Set(['"', '\\', '/', 'b', 'f', 'n', 'r', 't'])
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y
const HEX4 = /[0-9a-fA-F]{4}/y

/**
 * Finds the first JSON syntax error in text, or null when the text is valid JSON.
 * JSON.parse does not always report a position (e.g. "Unexpected token"), so this scanner exists
 * only to point at the exact character; values are still produced by JSON.parse.
 * Iterative (explicit stack) so deeply nested input cannot overflow the call stack.
 */
export function findJsonSyntaxError(text: string): JsonSyntaxError | null {
  // Containers still open: '{' or '['.
  const stack: string[] = []
  let i = 0
  const at = (offset: number, message: string, hint: string): JsonSyntaxError => ({
    offset,
    message,
    hint,
  })
  const skipSpace = (): void => {
    while (i < text.length && WHITESPACE.has(text.charAt(i))) i++
  }
  const show = (offset: number): string =>
    offset >= text.length ? 'the end of the text' : `'${text.charAt(offset)}'`

  // Reads one string starting at text[i] === '"'; returns an error or null.
  const readString = (): JsonSyntaxError | null => {
    const start = i
    i++
    while (i < text.length) {
      const c = text.charAt(i)
      if (c === '"') {
        i++
        return null
      }
      if (c === '\\') {
        const e = text.charAt(i + 1)
        if (e === 'u') {
          HEX4.lastIndex = i + 2
          if (!HEX4.test(text)) {
            return at(i, 'invalid \\u escape in string', 'write \\u followed by 4 hex digits')
          }
          i += 6
          continue
        }
        if (!ESCAPES.has(e)) {
          return at(
            i,
            `invalid escape \\${e} in string`,
            'escape a backslash as \\\\; valid escapes are \\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX',
          )
        }
        i += 2
        continue
      }
      if (c < ' ') {
        return at(
          i,
          'line break or control character inside a string',
          'close the string on the same line, or write a line break as \\n',
        )
      }
      i++
    }
    return at(start, 'string is never closed', 'add the closing " at the end of the string')
  }

  // Reads one scalar or opens a container; returns an error, 'opened' or null.
  const readValue = (): JsonSyntaxError | 'opened' | null => {
    skipSpace()
    const c = text.charAt(i)
    if (c === '{' || c === '[') {
      stack.push(c)
      i++
      return 'opened'
    }
    if (c === '"') return readString()
    for (const word of ['true', 'false', 'null']) {
      if (text.startsWith(word, i)) {
        i += word.length
        return null
      }
    }
    NUMBER.lastIndex = i
    if (c === '-' || (c >= '0' && c <= '9')) {
      if (NUMBER.test(text)) {
        i = NUMBER.lastIndex
        return null
      }
      return at(i, 'invalid number', 'write numbers like 200, -1 or 2.5, without leading zeros')
    }
    if (c === "'") {
      return at(i, 'strings must use double quotes in JSON', `replace the ' quotes with "`)
    }
    return at(
      i,
      `expected a value but found ${show(i)}`,
      'write a value: a "string", a number, true, false, null, an {object} or a [list]; text must be in double quotes',
    )
  }

  // After a value: close containers, or expect the next member/element.
  let value = readValue()
  if (value !== null && value !== 'opened') return value
  // True right after '{' or '[': no comma is expected before the first entry.
  let fresh = value === 'opened'
  for (;;) {
    // Where the last value or bracket ended: a missing comma belongs right here.
    const afterValue = i
    skipSpace()
    const top = stack.at(-1)
    if (top === undefined) break
    const c = text.charAt(i)
    const closer = top === '{' ? '}' : ']'
    if (c === closer) {
      stack.pop()
      i++
      fresh = false
      continue
    }
    if (!fresh) {
      if (c !== ',') {
        const what =
          top === '{' ? "',' or '}' after the property value" : "',' or ']' after the item"
        return at(
          afterValue,
          `expected ${what}`,
          `add ',' here if more entries follow, or close the ${top === '{' ? 'object with }' : 'list with ]'}`,
        )
      }
      i++
      skipSpace()
      if (text.charAt(i) === closer) {
        return at(
          i - 1,
          `trailing comma before '${closer}'`,
          'remove the comma after the last entry',
        )
      }
    }
    if (top === '{') {
      skipSpace()
      if (text.charAt(i) !== '"') {
        return at(
          i,
          `expected a property name in double quotes but found ${show(i)}`,
          'write property names in double quotes, e.g. "title": "My blog"',
        )
      }
      const keyError = readString()
      if (keyError) return keyError
      skipSpace()
      if (text.charAt(i) !== ':') {
        return at(i, `expected ':' after the property name but found ${show(i)}`, "add ':'")
      }
      i++
    }
    value = readValue()
    if (value !== null && value !== 'opened') return value
    fresh = value === 'opened'
  }
  skipSpace()
  if (i < text.length) {
    return at(
      i,
      `unexpected ${show(i)} after the end of the JSON value`,
      'remove the extra text, or put everything in one top-level {object}',
    )
  }
  return null
}
