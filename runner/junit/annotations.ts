import { caseTitle, failuresFirst } from './order-cases.js'
import type { TestCase, TestReport } from './types.js'

/** GitHub's limits for an annotation's message, raw_details and title. */
export const ANNOTATION_TEXT_BYTES = 65_535
export const ANNOTATION_TITLE_CHARS = 255
export const DEFAULT_MAX_ANNOTATIONS = 100

export interface Annotation {
  path: string
  start_line: number
  end_line: number
  annotation_level: 'failure' | 'warning' | 'notice'
  title: string
  message: string
  raw_details?: string
}

export interface AnnotationOptions {
  /** At most this many annotations (default 100; GitHub takes 50 per request). */
  max?: number
  /** Also annotate skipped cases, as notices (default false). */
  skipped?: boolean
}

/**
 * Check-run annotations for the cases with a repository-relative file: failures and errors as
 * `failure`, flaky passes as `warning`, skips as `notice` when asked. Absolute paths (outside the
 * workspace) and paths leaving the repository are left out, since GitHub cannot place them.
 */
export function toAnnotations(report: TestReport, opts: AnnotationOptions = {}): Annotation[] {
  const max = opts.max ?? DEFAULT_MAX_ANNOTATIONS
  const ordered = failuresFirst(report)
  const broken = ordered.filter((c) => c.status !== 'skipped')
  const flaky = report.cases.filter((c) => c.flaky)
  const skipped = opts.skipped ? ordered.filter((c) => c.status === 'skipped') : []
  const annotations: Annotation[] = []
  for (const c of [...broken, ...flaky, ...skipped]) {
    if (annotations.length >= max) break
    const annotation = annotate(c)
    if (annotation) annotations.push(annotation)
  }
  return annotations
}

function annotate(c: TestCase): Annotation | undefined {
  const path = c.file
  if (path === undefined || !isRepoPath(path)) return undefined
  const line = c.line ?? 1
  const level = c.status === 'skipped' ? 'notice' : c.flaky ? 'warning' : 'failure'
  const what = c.flaky ? 'flaky, passed on a rerun' : c.status
  const annotation: Annotation = {
    path,
    start_line: line,
    end_line: line,
    annotation_level: level,
    title: capChars(caseTitle(c), ANNOTATION_TITLE_CHARS),
    message: capBytes(c.message ?? `${c.type ?? 'test'} ${what}`, ANNOTATION_TEXT_BYTES),
  }
  if (c.details) annotation.raw_details = capBytes(c.details, ANNOTATION_TEXT_BYTES)
  return annotation
}

function isRepoPath(path: string): boolean {
  return (
    path !== '' &&
    !path.startsWith('/') &&
    !/^[A-Za-z]:/.test(path) &&
    !path.split('/').includes('..')
  )
}

function capChars(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`
}

/** `text` cut to at most `max` UTF-8 bytes, ending with a note of the cut. */
export function capBytes(text: string, max: number): string {
  if (text.length * 3 <= max || Buffer.byteLength(text, 'utf8') <= max) return text
  const marker = '\n… (cut)'
  const room = max - Buffer.byteLength(marker, 'utf8')
  let end = Math.min(text.length, room)
  for (;;) {
    if (isHighSurrogate(text.charCodeAt(end - 1))) end -= 1
    const over = Buffer.byteLength(text.slice(0, end), 'utf8') - room
    if (over <= 0) return text.slice(0, end) + marker
    end -= Math.max(1, Math.ceil(over / 3))
  }
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff
}
