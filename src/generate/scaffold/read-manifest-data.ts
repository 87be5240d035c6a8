import type { Manifest } from '../../manifest/types.js'
import { GenerateError } from '../types.js'

/** A seed post from `data.posts`, with only the fields the blog uses. */
export interface SeedPost {
  id: number
  title: string
  body: string
  publishedAt: string
}

/**
 * Reads `data.posts` (the php stack's seed posts): a list of `{ id, title, body, publishedAt }`
 * with unique positive integer ids and dates written `YYYY-MM-DD` (optionally with a time), so
 * that sorting the text sorts by date. No `data.posts` means a blog with no posts yet.
 */
export function readSeedPosts(manifest: Manifest): SeedPost[] {
  const posts = manifest.data?.posts
  if (posts === undefined) return []
  if (!Array.isArray(posts)) throw invalid('data.posts', 'must be a list of posts')
  const seen = new Set<number>()
  return posts.map((value: unknown, index): SeedPost => {
    const where = `data.posts[${index}]`
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw invalid(where, 'must be an object with id, title, body and publishedAt')
    }
    const post = value as Record<string, unknown>
    const { id, title, body, publishedAt } = post
    if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 1) {
      throw invalid(`${where}.id`, 'must be a whole number of 1 or more')
    }
    if (seen.has(id)) throw invalid(`${where}.id`, `repeats id ${id}; give every post its own id`)
    seen.add(id)
    if (typeof title !== 'string' || title.trim() === '') {
      throw invalid(`${where}.title`, 'must be a non-empty text')
    }
    if (typeof body !== 'string') throw invalid(`${where}.body`, 'must be a text')
    if (
      typeof publishedAt !== 'string' ||
      !/^\d{4}-\d{2}-\d{2}([T ][0-9:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(publishedAt)
    ) {
      throw invalid(
        `${where}.publishedAt`,
        'must be a date like 2025-01-31 (optionally with a time, 2025-01-31T09:30:00Z)',
      )
    }
    return { id, title, body, publishedAt }
  })
}

/** Reads `data.allowCreate`: true adds the public "write a post" form to the php blog. */
export function readAllowCreate(manifest: Manifest): boolean {
  const value = manifest.data?.allowCreate
  if (value === undefined) return false
  if (typeof value !== 'boolean') throw invalid('data.allowCreate', 'must be true or false')
  return value
}

function invalid(where: string, what: string): GenerateError {
  return new GenerateError(
    'invalid-data',
    `The manifest's ${where} ${what}. Fix it in the manifest and DevSys will generate the code again.`,
  )
}
