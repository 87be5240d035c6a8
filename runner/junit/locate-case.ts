import { type Found, findLocations } from './find-locations.js'
import { lineNumber } from './junit-text.js'
import type { TestCase } from './types.js'
import type { WalkContext } from './walk-context.js'
import { attr, type XmlNode } from './xml-node.js'

/** Source files a name can be (Vitest's classname, jest-junit's suite name with `{filepath}`). */
export const SOURCE_PATH =
  /^[\w@.~+\-/\\:]+\.(?:[cm]?[jt]sx?|py|php|phpt|rb|go|java|kts?|scala|cs|rs|cpp|cc|c|vue|svelte)$/

/**
 * Where a case failed. File: the `<failure file line>` attributes when both are there, else the
 * case's `file`, its suite's, a classname that is a path or names a module of the checkout
 * (`tests.test_blog.BlogTest`, `com.acme.FooTest`), else the first frame of the failure text in
 * the repository. Line: the frame in that file (the innermost: first for JavaScript and Java,
 * last for Python tracebacks), else the `line` attribute (the test's declaration).
 */
export function locateCase(
  testCase: TestCase,
  node: XmlNode,
  outcome: XmlNode | undefined,
  suiteFile: string | undefined,
  text: string,
  ctx: WalkContext,
): { file?: string; line?: number } {
  const ownFile = outcome && attr(outcome, '@file')
  const ownLine = outcome && lineNumber(attr(outcome, '@line'))
  if (ownFile !== undefined && ownLine !== undefined) {
    return { file: ctx.relative(ownFile), line: ownLine }
  }
  const fileAttr = attr(node, '@file')
  const given = fileAttr === undefined ? suiteFile : ctx.relative(fileAttr)
  // A module guessed from the classname yields to the text when no frame is in it (a fixture).
  const guessed = given === undefined ? classFile(testCase.classname, ctx) : undefined
  let file = given ?? guessed
  let line = lineNumber(attr(node, '@line'))
  if (line !== undefined && ctx.zeroBasedLines) line += 1
  if (text !== '' && (testCase.status !== 'passed' || testCase.flaky)) {
    const found = findLocations(text, ctx.root, ctx.files)
    const known = file
    const inRepo = (): Found | undefined =>
      innermost(found.filter((l) => isRepoPath(l.file))) ?? found[0]
    let pick =
      known === undefined ? inRepo() : innermost(found.filter((l) => sameFile(l.file, known)))
    if (pick === undefined && guessed !== undefined) {
      file = undefined
      pick = inRepo()
    }
    if (pick && file !== undefined) line = pick.line
    else if (pick) {
      file = pick.file
      line = pick.line
    }
  }
  if (file === undefined || file === '') return {}
  return line === undefined ? { file } : { file, line }
}

/** Python tracebacks list the innermost frame last; every other dialect lists it first. */
function innermost(found: Found[]): Found | undefined {
  const python = found.filter((l) => l.python)
  return python.length > 0 ? python[python.length - 1] : found[0]
}

function sameFile(a: string, b: string): boolean {
  return a === b || a.endsWith(`/${b}`) || b.endsWith(`/${a}`)
}

function isRepoPath(path: string): boolean {
  return !path.startsWith('/') && !/^[A-Za-z]:/.test(path) && !path.split('/').includes('..')
}

/** The file a classname names: a source path, or a Python/JVM module found in the checkout. */
function classFile(classname: string | undefined, ctx: WalkContext): string | undefined {
  if (!classname) return undefined
  if (SOURCE_PATH.test(classname)) return ctx.relative(classname)
  if (!/^[\w$]+(\.[\w$]+)+$/.test(classname)) return undefined
  const parts = classname.replace(/\$.*$/, '').split('.')
  for (let n = parts.length; n >= 1; n--) {
    const module = parts.slice(0, n).join('/')
    if (ctx.files.has(`${module}.py`)) return `${module}.py`
    for (const ext of ['java', 'kt', 'scala', 'groovy']) {
      const found = ctx.files.find(`${module}.${ext}`)
      if (found !== undefined) return found
    }
  }
  return undefined
}
