import { readdirSync, readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'

type Schema = Record<string, unknown>
const specs = new URL('../../specs/', import.meta.url)
const schemaFiles = readdirSync(specs).filter((f) => f.endsWith('.schema.json'))
// Objects that are maps or free-form on purpose: their entries are checked by additionalProperties
// schemas (headers, environments) or are generator inputs (data).
const OPEN_OBJECTS = new Set(['/properties/data'])

/** Every (sub)schema with the JSON pointer of where it sits in the file. */
function* walk(schema: unknown, at = ''): Generator<[string, Schema]> {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) return
  const s = schema as Schema
  yield [at, s]
  for (const key of ['properties', '$defs']) {
    for (const [name, sub] of Object.entries((s[key] as Schema | undefined) ?? {}))
      yield* walk(sub, `${at}/${key}/${name}`)
  }
  for (const key of ['items', 'additionalProperties', 'then', 'if'])
    yield* walk(s[key], `${at}/${key}`)
}

describe.each(schemaFiles)('specs/%s', (file) => {
  const schema = JSON.parse(readFileSync(new URL(file, specs), 'utf8')) as Schema

  it('is a 2020-12 schema with an $id', () => {
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema')
    expect(schema.$id).toMatch(/^urn:devsys:schema:/)
  })

  it('describes every property', () => {
    const undescribed: string[] = []
    for (const [at, s] of walk(schema)) {
      if (
        /\/properties\/[^/]+$/.test(at) &&
        !at.includes('/if/') &&
        typeof s.description !== 'string'
      )
        undescribed.push(at)
    }
    expect(undescribed).toEqual([])
  })

  it('closes every object with properties, except deliberate maps', () => {
    const open: string[] = []
    for (const [at, s] of walk(schema)) {
      const isObject = s.type === 'object' || s.properties !== undefined
      if (!isObject || at.includes('/if') || at.endsWith('/then') || OPEN_OBJECTS.has(at)) continue
      if (s.additionalProperties === undefined || s.additionalProperties === true) open.push(at)
    }
    expect(open).toEqual([])
  })
})

it('covers the three validated inputs', () => {
  expect(schemaFiles.sort()).toEqual([
    'config.schema.json',
    'env.schema.json',
    'project.schema.json',
  ])
})
