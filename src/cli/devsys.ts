import { basename, join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { createLogger } from '../logger.js'
import { createRunner, readRunnerConfig } from '../../runner/create-runner.js'
import { runLocal } from './run-local.js'

const USAGE = `usage: devsys <command> [options]

commands:
  run <manifest> --repo <path> [--base <branch>] [--feedback <text>] [--test] [--runner <kind>]
      [--deploy [--env <name>]]
      validate the manifest, then generate the task's code and commit it on branch
      devsys/<task-id> of the local git repository at <path> (no GitHub needed);
      with --test, also run the task's tests on that branch and print the report
      (runner: local, docker, remote-ssh or auto; default TEST_RUNNER or auto);
      with --deploy, also deploy the branch to DATA_DIR/deploys/local/<repo>/<env>
      (env default production), serve it with php -S, run the manifest's acceptance
      checks against it and keep serving it until Ctrl-C

Run it with \`npm run devsys -- run specs/create-blog.json --repo ../my-blog\`.`

/** The `devsys` command line: DevSys's local mode. */
async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv
  if (command !== 'run') {
    process.stderr.write(`${USAGE}\n`)
    return command === undefined || command === '--help' || command === 'help' ? 0 : 2
  }
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
  if (!manifestPath || !values.repo) {
    process.stderr.write(`${USAGE}\n`)
    return 2
  }
  const env = values.env ?? 'production'
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(env)) {
    process.stderr.write(`--env must be an environment name such as staging (got ${env})\n`)
    return 2
  }
  const log = createLogger(process.env.LOG_LEVEL ?? 'warn', process.stderr)
  const kind = values.runner ?? process.env.TEST_RUNNER ?? 'auto'
  if (!['local', 'docker', 'remote-ssh', 'auto'].includes(kind)) {
    process.stderr.write(`--runner must be local, docker, remote-ssh or auto (got ${kind})\n`)
    return 2
  }
  const runnerConfig = readRunnerConfig(process.env)
  const runner = values.test
    ? await createRunner(kind as 'local' | 'docker' | 'remote-ssh' | 'auto', runnerConfig, log)
    : undefined
  const dataDir = process.env.DATA_DIR ?? '.data'
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
