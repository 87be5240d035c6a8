import { readFile } from 'node:fs/promises'
import Mustache from 'mustache'
import { escapeHtml } from '../../escape-html.js'

const TEMPLATES = new URL('../templates/', import.meta.url)

/**
 * Renders `src/generate/templates/<name>.mustache` with view. `{{x}}` is HTML-escaped; the
 * templates never put manifest text into code (PHP reads it from JSON files instead).
 */
export async function renderTemplate(name: string, view: object): Promise<string> {
  const template = await readFile(new URL(`${name}.mustache`, TEMPLATES), 'utf8')
  return Mustache.render(template, view, {}, { escape: (value) => escapeHtml(String(value)) })
}
