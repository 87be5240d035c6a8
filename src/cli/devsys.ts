import { basename, join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { createRunner, readRunnerConfig } from '../../runner/create-runner.js'
import { loadEnv } from '../config/load-env.js'
import { createLogger } from '../logger.js'
import { createStore } from '../store/create-store.js'
import { runLocal } from './run-local.js'
import { TOKEN_USAGE, tokenCommand } from './token-command.js'
import { validateManifests } from './validate-manifests.js'

const USAGE = `usage: devsys <command> [options]

commands:
  start
      run the DevSys GitHub App server, configured by the environment and .env (npm start)
  validate <manifest>...
      check manifest files as an issue or a push would; print every problem as
      file:line:column with how to fix it; exit 1 when one is invalid
  run <manifest> --repo <path> [--base <branch>] [--feedback <text>] [--test] [--runner <kind>]
      [--deploy [--env <name>]]
      validate the manifest, then generate the task's code and commit it on branch
      devsys/<task-id> of the local git repository at <path> (no GitHub needed);
      with --test, also run the task's tests on that branch and print the report
      (runner: local, docker, remote-ssh or auto; default TEST_RUNNER or auto);
      with --deploy, also deploy the branch to DATA_DIR/deploys/local/<repo>/<env>
      (env default production), serve it with php -S, run the manifest's acceptance
      checks against it and keep serving it until Ctrl-C
${TOKEN_USAGE}

Settings come from the environment and from .env in the working directory (see .env.example);
DATA_DIR (default .data) is relative to the working directory.
Run it with \`npx devsys run specs/create-blog.json --repo ../my-blog\`.`

/** The `devsys` command line: the server, manifest checks and DevSys's local mode. */
async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv
  loadDotEnv()
  switch (command) {
    case 'start':
      if (rest.length > 0) return usage(2)
      // The server's own entry point: it keeps the process alive until SIGINT or SIGTERM.
      await import('../main.js')
      return 0
    case 'validate':
      if (rest.length === 0 || rest.some((arg) => arg.startsWith('-'))) return usage(2)
      return validateManifests(rest, (line) => process.stdout.write(`${line}\n`))
    case 'run':
      return runCommand(rest)
    case 'token':
      return tokenOnStore(rest)
    default:
      return usage(command === undefined || command === '--help' || command === 'help' ? 0 : 2)
  }
}

function usage(code: number): number {
  process.stderr.write(`${USAGE}\n`)
  return code
}

/** Reads .env from the working directory, as `npm start` does; set variables win over it. */
function loadDotEnv(): void {
  try {
    process.loadEnvFile()
  } catch {
    // No .env file: the environment alone configures DevSys.
  }
}

async function runCommand(rest: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      repo: { type: 'string' },
      base: { type: 'string' },
      feedback: { type: 'string' },
      test: { type: 'boolean' },
      runner: { type: 'string' },
      deploy: { type: 'boolean' },
      env: { type: 'string' },
    },
  })
  const [manifestPath] = positionals
  if (!manifestPath || !values.repo) return usage(2)
  // The same settings the server reads, checked the same way (DATA_DIR made absolute there).
  const loaded = loadEnv(process.env)
  if (!loaded.ok) {
    process.stderr.write(`DevSys's settings are invalid:\n${loaded.errors.join('\n')}\n`)
    return 2
  }
  const env = values.env ?? 'production'
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(env)) {
    process.stderr.write(`--env must be an environment name such as staging (got ${env})\n`)
    return 2
  }
  // Only warnings unless LOG_LEVEL asks for more: the command prints its own progress.
  const { logLevel, logFormat } = loaded.config
  const log = createLogger(process.env.LOG_LEVEL ? logLevel : 'warn', process.stderr, logFormat)
  const kind = values.runner ?? process.env.TEST_RUNNER ?? 'auto'
  if (!['local', 'docker', 'remote-ssh', 'auto'].includes(kind)) {
    process.stderr.write(`--runner must be local, docker, remote-ssh or auto (got ${kind})\n`)
    return 2
  }
  const runnerConfig = readRunnerConfig(process.env)
  const runner = values.test
    ? await createRunner(kind as 'local' | 'docker' | 'remote-ssh' | 'auto', runnerConfig, log)
    : undefined
  const { dataDir } = loaded.config
  const result = await runLocal({
    manifestPath,
    repoPath: values.repo,
    base: values.base,
    feedback: values.feedback,
    cacheDir: join(dataDir, 'git'),
    deployDir: values.deploy
      ? join(dataDir, 'deploys', 'local', safeName(basename(resolve(values.repo))), env)
      : undefined,
    log,
    runner,
    sandbox: runnerConfig.sandbox,
    out: (line) => process.stdout.write(`${line}\n`),
  })
  if (!result.ok) return result.exitCode
  const failed = result.testsPassed === false || result.site?.verified === false
  if (result.site !== undefined) {
    process.stdout.write('(serving until Ctrl-C)\n')
    await untilStopped()
    await result.site.stop()
  }
  return failed ? 1 : 0
}

/** `devsys token …` on the store the settings name (DATA_DIR's SQLite or DATABASE_URL). */
async function tokenOnStore(rest: string[]): Promise<number> {
  const loaded = loadEnv(process.env)
  if (!loaded.ok) {
    process.stderr.write(`DevSys's settings are invalid:\n${loaded.errors.join('\n')}\n`)
    return 2
  }
  const { logLevel, logFormat } = loaded.config
  const log = createLogger(process.env.LOG_LEVEL ? logLevel : 'warn', process.stderr, logFormat)
  const store = await createStore(loaded.config, log)
  try {
    return await tokenCommand(rest, store, {
      out: (line) => process.stdout.write(`${line}\n`),
      err: (line) => process.stderr.write(`${line}\n`),
    })
  } finally {
    await store.close()
  }
}

/** Resolves on Ctrl-C or SIGTERM. */
function untilStopped(): Promise<void> {
  return new Promise((done) => {
    process.once('SIGINT', () => done())
    process.once('SIGTERM', () => done())
  })
}

/** A repository folder name as one safe path segment. */
function safeName(name: string): string {
  return name.replace(/[^A-Za-z0-9_.-]/g, '-').replace(/^\.+/, '_') || 'repo'
}

process.exitCode = await main(process.argv.slice(2))
