import { readFile } from 'node:fs/promises'
import Mustache from 'mustache'

const TEMPLATES = new URL('../templates/', import.meta.url)

/**
 * Escapes for HTML text and attribute values (`& < > " '`). Mustache's own escape also turns `/`,
 * `` ` `` and `=` into entities, which adds no safety inside quoted attributes or text but breaks
 * plain-text acceptance checks such as `bodyContains: ["a/b"]`.
 */
export function escapeHtml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;')
}

/**
 * Renders `src/generate/templates/<name>.mustache` with view. `{{x}}` is HTML-escaped; the
 * templates never put manifest text into code (PHP reads it from JSON files instead).
 */
export async function renderTemplate(name: string, view: object): Promise<string> {
  const template = await readFile(new URL(`${name}.mustache`, TEMPLATES), 'utf8')
  return Mustache.render(template, view, {}, { escape: (value) => escapeHtml(String(value)) })
}
