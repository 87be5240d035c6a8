import pino from 'pino'
import type { RunRequest } from '../../runner/types.js'
import { parseRepoConfig } from '../../src/config/load-repo-config.js'
import { createGenerator } from '../../src/generate/create-generator.js'
import {
  commitAll,
  createWorkspace,
  loadManifest,
  requestFor,
  type TestWorkspace,
} from '../generate/workspace.js'

/** A git work tree holding the generated PHP blog (specs/create-blog.json), committed. */
export async function createBlogWorkspace(): Promise<TestWorkspace> {
  const ws = await createWorkspace()
  const parsed = parseRepoConfig(null)
  if (!parsed.ok) throw new Error('the default repo config is invalid')
  const generator = createGenerator('scaffold', parsed.config.generator)
  await generator.generate(requestFor(ws.dir, await loadManifest('specs/create-blog.json')))
  await commitAll(ws.dir, 'Generate the blog')
  return ws
}

/** The blog's test command, as the repo config would give it. */
export const PHPUNIT = ['phpunit', '--log-junit', 'build/junit.xml']

/** A run request with test-friendly limits; `extra` overrides any field. */
export function runRequest(workspace: string, extra: Partial<RunRequest> = {}): RunRequest {
  return {
    workspace,
    command: PHPUNIT,
    junitPath: 'build/junit.xml',
    timeoutMs: 60_000,
    maxOutputBytes: 64 * 1024,
    maxReportBytes: 1024 * 1024,
    signal: new AbortController().signal,
    log: pino({ level: 'silent' }),
    ...extra,
  }
}

/** The number in the report's top `tests="N"` attribute (0 when there is none). */
export function testCount(xml: Buffer): number {
  return Number(/<testsuite\b[^>]*\btests="(\d+)"/.exec(xml.toString('utf8'))?.[1] ?? 0)
}
