/**
 * The checkout's file list (ParseJUnitOptions.repoFiles), indexed by file name, to place frames
 * that name a file without its folder: Java's `(FooTest.java:42)`, PHPT's `Foo.phpt(78)`.
 */
export interface RepoFiles {
  /** The one file whose path ends with `suffix` (`Foo.java`, `com/acme/Foo.java`); else undefined. */
  find(suffix: string): string | undefined
  /** Whether this repository-relative path is a file of the checkout. */
  has(path: string): boolean
}

const NONE: RepoFiles = { find: () => undefined, has: () => false }

/** An index of `files` (repository-relative, `/` separators). */
export function indexRepoFiles(files: readonly string[] | undefined): RepoFiles {
  if (files === undefined || files.length === 0) return NONE
  const byName = new Map<string, string[]>()
  const all = new Set<string>()
  for (const file of files) {
    all.add(file)
    const name = file.slice(file.lastIndexOf('/') + 1)
    const list = byName.get(name)
    if (list) list.push(file)
    else byName.set(name, [file])
  }
  return {
    has: (path) => all.has(path),
    find(suffix) {
      const clean = suffix.replace(/^\/+/, '')
      const name = clean.slice(clean.lastIndexOf('/') + 1)
      const matches = (byName.get(name) ?? []).filter((f) => f === clean || f.endsWith(`/${clean}`))
      return matches.length === 1 ? matches[0] : undefined
    },
  }
}
