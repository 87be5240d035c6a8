/**
 * What the check-run reporter needs from a parsed report: the cases in the order to show them,
 * annotations for GitHub, and the summary markdown. All pure.
 */
export {
  ANNOTATION_TEXT_BYTES,
  ANNOTATION_TITLE_CHARS,
  type Annotation,
  type AnnotationOptions,
  capBytes,
  DEFAULT_MAX_ANNOTATIONS,
  toAnnotations,
} from './annotations.js'
export { caseTitle, failuresFirst } from './order-cases.js'
export { renderSummaryMarkdown, SUMMARY_LIMIT, type SummaryOptions } from './summary-markdown.js'
