/**
 * The world every end-to-end scenario runs in, set up before and torn down after each test: a
 * GitHub stand-in answering for one repository (`Codertocat/Hello-World`) whose git data is a
 * real bare repository served over git's smart HTTP, and DevSys as its own process, started by
 * the test with the environment it needs.
 */
import { rmSync } from 'node:fs'
import { afterEach, beforeEach, expect } from 'vitest'
import { type GitHttpServer, startGitHttpServer } from '../git/git-http-server.js'
import { createRemote } from '../helpers/git-remote.js'
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js'
import {
  type DevsysProcess,
  type DevsysProcessOptions,
  startDevsysProcess,
} from './devsys-process.js'
import { fakeRepo, type RepoFake } from './github-repo-routes.js'
import { type GitHubStandin, startGitHubStandin } from './github-standin.js'

export const OWNER = 'Codertocat'
export const REPO = 'Hello-World'

export interface E2eWorld {
  github: GitHubStandin
  gitServer: GitHttpServer
  /** The bare repository (`bare`) and a scratch folder around it (`root`, removed after). */
  remote: { root: string; bare: string }
  repo: RepoFake
  /** The repository's clone URL on the git HTTP server. */
  cloneUrl: string
  /** The DevSys process started last; throws before startDevsys(). */
  readonly devsys: DevsysProcess
  /**
   * The fresh PostgreSQL database of this test (see useE2eWorld's `postgres`), given to every
   * DevSys process as DATABASE_URL; throws when the world has none.
   */
  readonly database: TestDatabase
  /**
   * Starts DevSys against the stand-in (GHE_HOST), JSON logs unless `env` says otherwise.
   * Several may run at once (sharing a database); each is stopped after the test.
   */
  startDevsys(opts?: Omit<DevsysProcessOptions, 'gheHost'>): Promise<DevsysProcess>
  /** DevSys's output so far (last 6000 characters), for failure messages. */
  logTail(): string
}

/**
 * Registers beforeEach/afterEach that build and tear down the world; call once at the top of a
 * test file. After each test every DevSys process still running is stopped with SIGTERM and must
 * exit 0 (a clean stop is part of the contract: deploys served again on restart, no job lost),
 * its data folder removed. With `postgres`, each test gets a fresh database on the test server
 * (test/helpers/postgres.ts; check requirePostgres first), so DevSys runs on the PostgreSQL
 * store and the pg-boss queue.
 */
export function useE2eWorld(opts: { postgres?: boolean } = {}): E2eWorld {
  let current: DevsysProcess | undefined
  let database: TestDatabase | undefined
  const started: DevsysProcess[] = []
  const dataDirs = new Set<string>()
  const world = {
    logTail: () => `DevSys output (last 6000 chars):\n${current?.output().slice(-6000) ?? ''}`,
    get devsys(): DevsysProcess {
      if (current === undefined) throw new Error('DevSys is not started: call startDevsys()')
      return current
    },
    get database(): TestDatabase {
      if (database === undefined)
        throw new Error('This world has no database: useE2eWorld({ postgres: true })')
      return database
    },
    async startDevsys(more: Omit<DevsysProcessOptions, 'gheHost'> = {}) {
      current = await startDevsysProcess({
        ...more,
        gheHost: world.github.host,
        env: {
          LOG_FORMAT: 'json',
          ...(database === undefined ? {} : { DATABASE_URL: database.url }),
          ...more.env,
        },
      })
      started.push(current)
      dataDirs.add(current.dataDir)
      return current
    },
  } as E2eWorld

  beforeEach(async () => {
    if (opts.postgres) database = await createTestDatabase()
    world.github = await startGitHubStandin()
    world.remote = createRemote()
    world.gitServer = await startGitHttpServer(world.remote.root, world.github.token)
    world.cloneUrl = `${world.gitServer.baseUrl}/${REPO}.git`
    world.repo = fakeRepo({
      owner: OWNER,
      repo: REPO,
      bare: world.remote.bare,
      cloneUrl: world.cloneUrl,
      apiUrl: world.github.apiUrl,
    })
    world.github.routes(...world.repo.routes)
  })

  afterEach(async () => {
    // A process killed during the test has no exit code (null); every other must exit 0.
    const codes: (number | null)[] = []
    for (const p of started.splice(0)) codes.push(await p.stop())
    current = undefined
    await database?.drop()
    database = undefined
    await world.gitServer.close()
    await world.github.close()
    rmSync(world.remote.root, { recursive: true, force: true })
    for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true })
    dataDirs.clear()
    expect(codes.map((code) => code ?? 0)).toEqual(codes.map(() => 0))
  })

  return world
}
