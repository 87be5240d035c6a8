import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { createLogger } from '../logger.js'
import { runLocal } from './run-local.js'

const USAGE = `usage: devsys <command> [options]

commands:
  run <manifest> --repo <path> [--base <branch>] [--feedback <text>]
      validate the manifest, then generate the task's code and commit it on branch
      devsys/<task-id> of the local git repository at <path> (no GitHub needed)

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
    },
  })
  const [manifestPath] = positionals
  if (!manifestPath || !values.repo) {
    process.stderr.write(`${USAGE}\n`)
    return 2
  }
  const result = await runLocal({
    manifestPath,
    repoPath: values.repo,
    base: values.base,
    feedback: values.feedback,
    cacheDir: join(process.env.DATA_DIR ?? '.data', 'git'),
    log: createLogger(process.env.LOG_LEVEL ?? 'warn', process.stderr),
    out: (line) => process.stdout.write(`${line}\n`),
  })
  return result.ok ? 0 : result.exitCode
}

process.exitCode = await main(process.argv.slice(2))
