import { readFileSync } from 'node:fs'
import { parseEnv } from 'node:util'
import { describe, expect, it } from 'vitest'
import { checkRunnerEnv } from '../../runner/create-runner.js'
import { loadEnv } from '../../src/config/load-env.js'

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8')
const example = read('.env.example')
const schema = JSON.parse(read('specs/env.schema.json')) as {
  properties: Record<string, { default?: unknown }>
}
/** The variables the runners and the sandbox read (they have no schema: see their checkers). */
const runnerNames = [
  ...read('runner/create-runner.ts').matchAll(/\bget\('([A-Z0-9_]+)'\)/g),
  ...read('runner/sandbox/sandbox-settings.ts').matchAll(/\b(?:get|integer)\('([A-Z0-9_]+)'/g),
].map((m) => m[1] as string)

const SETTING = /^# ([A-Z][A-Z0-9_]*)=(.*)$/
const lines = example.split('\n')
const settings = lines.flatMap((line, i) => {
  const match = SETTING.exec(line)
  return match ? [{ name: match[1] as string, value: match[2] as string, above: lines[i - 1] }] : []
})

describe('.env.example', () => {
  it('lists every variable of specs/env.schema.json and of the runners once, and nothing else', () => {
    const names = settings.map((s) => s.name)
    expect(new Set(names).size).toBe(names.length)
    expect(runnerNames.length).toBeGreaterThan(10)
    expect([...names].sort()).toEqual(
      [...new Set([...Object.keys(schema.properties), ...runnerNames])].sort(),
    )
  })

  it('explains each variable in a comment right above it', () => {
    for (const { name, above } of settings) {
      expect(above, name).toMatch(/^# \S/)
      expect(SETTING.test(above ?? ''), name).toBe(false)
    }
  })

  it("shows each schema variable's default, or nothing when it has none", () => {
    for (const { name, value } of settings) {
      const property = schema.properties[name]
      if (property === undefined) continue
      expect(value, name).toBe(property.default === undefined ? '' : String(property.default))
    }
  })

  it('changes nothing when every line is uncommented as it is', () => {
    const uncommented = parseEnv(
      lines.map((line) => (SETTING.test(line) ? line.slice(2) : line)).join('\n'),
    )
    expect(Object.keys(uncommented)).toHaveLength(settings.length)
    expect(loadEnv(uncommented)).toEqual(loadEnv({}))
    expect(checkRunnerEnv(uncommented)).toEqual(checkRunnerEnv({}))
  })
})
