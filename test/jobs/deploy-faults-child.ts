/**
 * The DevSys process that crashes in deploy-faults.test.ts: a harness over the test's DATA_DIR
 * (argv[2]) receives the push of a merge (argv[3]: a JSON file of { payload, sha, deploymentId })
 * and deploys it to the local target for real, with GitHub mocked by nock in this process. The
 * target's `activate` is where the process dies: it prints one `crashing <json>` line (the
 * target's state, and what was sent to GitHub and whether GitHub's description accepted it),
 * then SIGKILLs itself, between a complete upload and the switch of `current`.
 */
import { writeSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { localDeployRoot } from '../../src/deploy/create-target.js'
import { createLocalTarget } from '../../src/deploy/targets/local-target.js'
import { assertGitHubClean, githubRequests, mockGitHub, settleGitHub } from '../helpers/github.js'
import { startIntake } from '../intake/harness.js'
import { nockDeploy, PR } from './deploy-fixture.js'

const [dataDir, inputFile] = process.argv.slice(2)
if (dataDir === undefined || inputFile === undefined) {
  throw new Error('usage: deploy-faults-child.ts <dataDir> <input.json>')
}
const input = JSON.parse(await readFile(inputFile, 'utf8')) as {
  payload: object
  sha: string
  deploymentId: number
}

mockGitHub()
// Up to the switch: the repo config, the merged PR, the deployment and its in_progress status.
nockDeploy({
  deploymentId: input.deploymentId,
  statuses: 1,
  checkRun: null,
  pulls: { sha: input.sha, numbers: [PR] },
})

/** Written synchronously: the next statement may be the kill. */
function report(line: string): void {
  writeSync(1, `${line}\n`)
}

async function githubVerdict(): Promise<string> {
  await settleGitHub()
  try {
    assertGitHubClean()
    return 'clean'
  } catch (error) {
    return (error as Error).message
  }
}

const devsys = await startIntake({
  dataDir,
  jobs: ['deploy'],
  // A short job lease, so the next DevSys process takes the job over soon after the kill.
  leaseMs: 2000,
  targets: async ({ repo, environment, config }) => {
    const target = createLocalTarget({
      root: localDeployRoot(dataDir, repo, environment),
      shared: config.shared,
    })
    return {
      ...target,
      async activate(releaseId) {
        const state = await target.state()
        const github = await githubVerdict()
        report(
          `crashing ${JSON.stringify({ releaseId, state, github, requests: githubRequests() })}`,
        )
        process.kill(process.pid, 'SIGKILL')
        return new Promise<void>(() => undefined)
      },
    }
  },
})
await devsys.deliver('push', input.payload, 'delivery-crash')
// Only reached when the deploy ended without switching: the test fails showing what happened.
const jobs = await devsys.queue.listJobs({})
report(`finished ${JSON.stringify({ jobs, github: await githubVerdict() })}`)
await devsys.close()
process.exit(1)
