import { Composer, type CST, type Document, Lexer, Parser } from 'yaml'

export type YamlParseResult = { ok: true; docs: Document.Parsed[] } | { ok: false; offset: number }

/**
 * Parses YAML text into documents like yaml's parseAllDocuments, but refuses text that nests
 * lists and objects more than `maxDepth` levels deep, before any recursive step runs. yaml's
 * CST parser keeps its nesting on an explicit stack, so watching that stack costs no call depth;
 * the composer, toJS and schema validation that follow are recursive and overflow the call
 * stack (or take seconds) on a few thousand levels of `- - - -` or indentation.
 */
export function parseYamlDocuments(text: string, maxDepth: number): YamlParseResult {
  const parser = new Parser()
  const tokens: CST.Token[] = []
  // The stack holds the document and, at most, a scalar being read above the collections.
  const maxStack = maxDepth + 2
  for (const lexeme of new Lexer().lex(text)) {
    for (const token of parser.next(lexeme)) tokens.push(token)
    // stack[0] is the document, so stack[maxDepth + 1] is the first list or object too deep.
    const tooDeep = parser.stack.length > maxStack ? parser.stack[maxDepth + 1] : undefined
    if (tooDeep) return { ok: false, offset: tooDeep.offset }
  }
  for (const token of parser.end()) tokens.push(token)
  const composer = new Composer({ prettyErrors: false, uniqueKeys: false })
  return { ok: true, docs: Array.from(composer.compose(tokens)) }
}
