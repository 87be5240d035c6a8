import { relativePath } from './junit-text.js'
import type { RepoFiles } from './repo-files.js'

/** A place a failure text points at. `python` frames run outermost first, the others innermost first. */
export interface Found {
  file: string
  line: number
  python?: true
}

/**
 * `path:line[:col]` where a path starts a word: at a line start, after whitespace, `(`, `❯`, `"`,
 * `'` or `file://`. Also `path(line)` (PHPT, MSVC, .NET).
 */
const COLON =
  /(^|[\s("'❯]|file:\/\/)((?:[A-Za-z]:)?[\w@.~+\-/\\]*[\w@~+-]\.[A-Za-z0-9]{1,10}):(\d{1,9})(?::\d+)?/gm
const PAREN = /(^|[\s"'])((?:[A-Za-z]:)?[\w@.~+\-/\\]*[\w@~+-]\.[A-Za-z0-9]{1,10})\((\d{1,9})\)/gm
/** .NET frames: `at Acme.CartTests.Total() in D:\\a\\app\\CartTests.cs:line 21`. */
const DOTNET = / in ((?:[A-Za-z]:)?[^\s:]{1,1000}\.\w{1,10}):line (\d{1,9})/g
/** Python traceback frames: `File "/ws/tests/test_blog.py", line 12, in test_x`. */
const PYTHON = /File "([^"\n]{1,1000})", line (\d{1,9})/g
/** JVM frames: `at com.acme.FooTest.testX(FooTest.java:42)`, Kotlin and Scala alike. */
const JVM =
  /\bat\s+(?:[\w.@-]*\/\/?)?([\w$.]+)\.[\w$<>-]+\(([\w$-]+\.(?:java|kt|kts|scala|groovy)):(\d{1,9})\)/g

const MAX_FOUND = 50

/** Every plausible source location in a failure text, in order of appearance per kind. */
export function findLocations(text: string, root: string, files: RepoFiles): Found[] {
  const found: Found[] = []
  const add = (raw: string, line: number, python: boolean): void => {
    if (found.length >= MAX_FOUND || !(line > 0)) return
    const file = place(raw, root, files)
    if (file === undefined) return
    found.push(python ? { file, line, python: true } : { file, line })
  }
  for (const m of text.matchAll(PYTHON)) add(m[1] ?? '', Number(m[2]), true)
  for (const m of text.matchAll(DOTNET)) add(m[1] ?? '', Number(m[2]), false)
  for (const m of text.matchAll(JVM)) {
    const pkg = (m[1] ?? '').split('.').slice(0, -1).join('/')
    const name = m[2] ?? ''
    const file = files.find(pkg === '' ? name : `${pkg}/${name}`) ?? files.find(name)
    if (file !== undefined && found.length < MAX_FOUND) found.push({ file, line: Number(m[3]) })
  }
  for (const pattern of [COLON, PAREN]) {
    for (const m of text.matchAll(pattern)) {
      const path = m[2] ?? ''
      // A bare name mid-line is often prose or a Java frame: taken only when the checkout has it.
      const bare = !path.includes('/') && !path.includes('\\')
      const start = m.index + (m[1] ?? '').length
      const lineStart = /^[\s❯]*$/.test(text.slice(text.lastIndexOf('\n', start - 1) + 1, start))
      if (bare && !lineStart && files.find(path) === undefined) continue
      add(path, Number(m[3]), false)
    }
  }
  return found
}

/** A location's file as the repository knows it, or undefined for library and runtime frames. */
function place(raw: string, root: string, files: RepoFiles): string | undefined {
  const path = relativePath(raw, root)
  if (
    path.includes('node_modules/') ||
    path.includes('site-packages/') ||
    path.startsWith('node:') ||
    path.startsWith('internal/') ||
    path.startsWith('<')
  ) {
    return undefined
  }
  if (!path.includes('/') && !files.has(path)) return files.find(path) ?? path
  return path
}
