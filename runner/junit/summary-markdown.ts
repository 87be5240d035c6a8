import { caseTitle, failuresFirst } from './order-cases.js'
import type { TestCase, TestReport } from './types.js'

/** GitHub's limit for a check run's summary. */
export const SUMMARY_LIMIT = 65_535

export interface SummaryOptions {
  /** Longest output, in characters and in UTF-8 bytes (default 65,535: GitHub's summary limit). */
  limit?: number
}

/** Per failure, how much of its message and details the summary shows. */
const MESSAGE_CHARS = 1_000
const DETAILS_CHARS = 3_000

/**
 * The check run's summary: a table of counts, then each failure and error with its message and
 * details, then the flaky and skipped cases. Whatever does not fit in `limit` is replaced by a
 * visible "… N more not shown", so the result always fits.
 */
export function renderSummaryMarkdown(report: TestReport, opts: SummaryOptions = {}): string {
  const limit = opts.limit ?? SUMMARY_LIMIT
  const ordered = failuresFirst(report)
  const broken = ordered.filter((c) => c.status !== 'skipped')
  const skipped = ordered.filter((c) => c.status === 'skipped')
  const flaky = report.cases.filter((c) => c.flaky)

  const head = [
    '| passed | failed | errored | skipped | time |',
    '| ---: | ---: | ---: | ---: | ---: |',
    `| ${report.passed} | ${report.failed} | ${report.errored} | ${report.skipped} | ${duration(report.timeMs)} |`,
  ].join('\n')
  const out = new Budget(limit)
  if (!out.add(head)) return out.cut(report.tests)

  const sections: Array<[string, TestCase[], (c: TestCase) => string]> = [
    [`### Failures and errors (${broken.length})`, broken, failureBlock],
    [`### Flaky: passed on a rerun (${flaky.length})`, flaky, listItem],
    [`### Skipped (${skipped.length})`, skipped, listItem],
  ]
  let remaining = broken.length + flaky.length + skipped.length
  for (const [title, cases, render] of sections) {
    if (cases.length === 0) continue
    if (!out.add(`\n\n${title}\n`)) return out.cut(remaining)
    for (const c of cases) {
      if (!out.add(`\n${render(c)}`)) return out.cut(remaining)
      remaining -= 1
    }
  }
  return out.text()
}

/** Collects pieces while they fit, keeping room for the cut marker. */
class Budget {
  private readonly parts: string[] = []
  private used = 0
  constructor(private readonly limit: number) {}

  add(piece: string): boolean {
    const size = Buffer.byteLength(piece, 'utf8')
    if (this.used + size > this.limit - 80) return false
    this.parts.push(piece)
    this.used += size
    return true
  }

  cut(notShown: number): string {
    const marker = `\n\n… ${notShown} more not shown (the summary is limited to ${this.limit} characters)`
    const text = this.parts.join('') + marker
    return text.length <= this.limit ? text : text.slice(0, this.limit)
  }

  text(): string {
    return this.parts.join('')
  }
}

function failureBlock(c: TestCase): string {
  const label = c.status === 'errored' ? 'error' : 'failed'
  const where = c.file === undefined ? '' : ` — \`${code(c.file)}${c.line ? `:${c.line}` : ''}\``
  const lines = [`#### ❌ ${inline(caseTitle(c))} (${label})${where}`]
  if (c.message) lines.push('', quote(clip(c.message, MESSAGE_CHARS)))
  if (c.details) {
    lines.push(
      '',
      '<details><summary>Details</summary>',
      '',
      fenced(clip(c.details, DETAILS_CHARS)),
    )
    lines.push('', '</details>')
  }
  return `${lines.join('\n')}\n`
}

function listItem(c: TestCase): string {
  const why = c.message ? `: ${inline(clip(c.message.split('\n')[0] ?? '', 200))}` : ''
  return `- ${inline(caseTitle(c))}${why}`
}

/** Text safe inside one markdown line: no HTML, no line breaks, no emphasis, links or pipes. */
function inline(text: string): string {
  return text
    .replace(/[\r\n]+/g, ' ')
    .replace(/[\\`*_[\]|]/g, '\\$&')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
}

function code(text: string): string {
  return text.replace(/`/g, "'")
}

function quote(text: string): string {
  return text
    .split('\n')
    .map((line) => `> ${inline(line)}`)
    .join('\n')
}

/** A code block whose fence is longer than any run of backticks inside. */
function fenced(text: string): string {
  let longest = 2
  for (const run of text.match(/`{3,}/g) ?? []) longest = Math.max(longest, run.length)
  const fence = '`'.repeat(longest + 1)
  return `${fence}\n${text}\n${fence}`
}

function clip(text: string, max: number): string {
  return text.length <= max
    ? text
    : `${text.slice(0, max)}\n… (${text.length - max} more characters)`
}

function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(2)} s`
  const minutes = Math.floor(ms / 60_000)
  return `${minutes} min ${Math.round((ms % 60_000) / 1000)} s`
}
