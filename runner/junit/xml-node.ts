import { decodeBody, decodeEntities } from './junit-text.js'

/** An element as fast-xml-parser returns it: attributes under `@name`, children by tag name. */
export type XmlNode = { [key: string]: unknown }

/** The decoded value of an attribute, if the element has it. `key` is the name with its `@`. */
export function attr(node: XmlNode, key: `@${string}`): string | undefined {
  const value = node[key]
  return typeof value === 'string' ? decodeEntities(value) : undefined
}

const NONE: readonly XmlNode[] = Object.freeze([])

/** An element's children with this tag, as nodes. An empty element arrives as '' and becomes {}. */
export function children(node: XmlNode, tag: string): readonly XmlNode[] {
  const value = node[tag]
  if (value === undefined) return NONE
  const list = Array.isArray(value) ? value : [value]
  return list.map((item) =>
    typeof item === 'object' && item !== null ? (item as XmlNode) : { '#text': String(item) },
  )
}

/** The text of an element kept raw by the parser (a stop node): CDATA and entities resolved, trimmed. */
export function body(node: XmlNode): string {
  const raw = node['#text']
  return typeof raw === 'string' ? decodeBody(raw).trim() : ''
}
