/**
 * A task whose tests are hostile, run by DevSys as its own process: the manifest's
 * `tests.command` reads `/proc/$PPID/environ` and every `/proc/<pid>/environ`, and `cat`s
 * DevSys's store file (in DATA_DIR) and its private key file (PRIVATE_KEY_PATH), printing
 * everything and putting it in its JUnit report too. What reaches GitHub (the `DevSys / tests`
 * check run above all) and DevSys's own log must hold none of DevSys's secrets, and show the
 * reads failing: the sandbox, not redaction, keeps them out.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { requireTool } from '../helpers/require-tool.js'
import { useE2eWorld } from './e2e-world.js'
import { BLOG_MANIFEST, fileTaskIssue, TESTS_CHECK, testsCompleted } from './scenario-steps.js'

const hasSandbox = requireTool('bwrap', 'task tests run in the bubblewrap sandbox')

/**
 * The hostile test command's script (`sh -c SCRIPT hostile STORE KEY`): everything it can read
 * goes to stdout and into the failure of its one test case, with control characters removed so
 * the report stays XML.
 */
const HOSTILE_SCRIPT = `store=$1 key=$2
{
  echo "parent-environ=$(tr '\\0' ' ' < /proc/$PPID/environ 2>&1)"
  for f in /proc/[0-9]*/environ; do echo "environ $f: $(tr '\\0' ' ' < "$f" 2>&1)"; done
  echo "store=$(cat "$store" 2>&1)"
  echo "key=$(cat "$key" 2>&1)"
} > stolen.txt 2>&1
cat stolen.txt
mkdir -p build
{
  printf '%s' '<testsuites><testsuite name="hostile"><testcase classname="hostile" name="reads DevSys secrets"><failure message="what the test could read"><![CDATA['
  tr -d '\\000-\\010\\013\\014\\016-\\037' < stolen.txt | sed 's/]]>//g'
  printf '%s\\n' ']]></failure></testcase></testsuite></testsuites>'
} > build/junit.xml
`

const world = useE2eWorld()

describe.skipIf(!hasSandbox)('hostile task tests, end to end', () => {
  it('a test command reading /proc/*/environ, the store and the key file gets none of them, and nothing secret reaches GitHub or the log', {
    timeout: 300_000,
  }, async () => {
    // The local runner (the bubblewrap sandbox on DevSys's host), and the App's key in a file.
    const devsys = await world.startDevsys({
      privateKeyFile: true,
      env: { TEST_RUNNER: 'local' },
    })
    const { github, logTail } = world
    const storePath = join(devsys.dataDir, 'devsys.sqlite')
    const keyPath = devsys.privateKeyPath as string

    // 1. An issue whose manifest's test command is the hostile script, given DevSys's paths.
    const manifest = JSON.parse(BLOG_MANIFEST) as Record<string, unknown>
    manifest.id = 'hostile-tests'
    manifest.tests = {
      command: ['sh', '-c', HOSTILE_SCRIPT, 'hostile', storePath, keyPath],
      junit: 'build/junit.xml',
      timeoutSeconds: 120,
    }

    // 2. DevSys generates the code, opens the PR and runs the tests: the check run completes.
    const { head } = await fileTaskIssue(world, JSON.stringify(manifest, null, 2))
    const { run } = await testsCompleted(world, head)
    expect(run, logTail()).toMatchObject({ name: TESTS_CHECK, head_sha: head, status: 'completed' })
    const output = run?.output as { summary?: string; text?: string } | undefined
    const shown = `${output?.summary ?? ''}\n${output?.text ?? ''}`

    // 3. The script ran (its report was read), and each read of DevSys's files failed.
    expect(shown, logTail()).toContain('reads DevSys secrets')
    expect(shown).toContain(`store=cat: ${storePath}: No such file or directory`)
    expect(shown).toContain(`key=cat: ${keyPath}: No such file or directory`)
    expect(shown).toContain('parent-environ=')
    expect(shown).toMatch(/environ \/proc\/\d+\/environ: /)

    // 4. None of DevSys's secrets, its environment or its store's bytes are in what GitHub got;
    //    and nothing was redacted from the check run, so none of it reached DevSys either.
    const apiToken = readFileSync(join(devsys.dataDir, 'manager-api-token'), 'utf8').trim()
    const keyLines = devsys.privateKey
      .split('\n')
      .filter((line) => line !== '' && !line.startsWith('-----'))
    const sentToGitHub = JSON.stringify(github.requests.map((r) => r.body))
    const secrets = [devsys.webhookSecret, apiToken, github.token, ...keyLines]
    for (const secret of secrets) {
      expect(sentToGitHub.includes(secret), 'a secret was sent to GitHub').toBe(false)
    }
    expect(sentToGitHub).not.toContain('SQLite format 3')
    for (const name of ['WEBHOOK_SECRET', 'PRIVATE_KEY_PATH', 'GHE_HOST', 'DATA_DIR=']) {
      expect(shown).not.toContain(name)
    }
    expect(shown).not.toContain('[redacted]')
    expect(shown).not.toContain('PRIVATE KEY')

    // 5. DevSys's own log holds neither the webhook secret nor the key.
    const log = devsys.output()
    expect(log.includes(devsys.webhookSecret), 'the webhook secret is in the log').toBe(false)
    for (const line of keyLines) {
      expect(log.includes(line), 'a line of the private key is in the log').toBe(false)
    }

    // Every request DevSys sent was a valid GitHub request to a route GitHub has.
    expect(github.problems()).toEqual([])
  })
})
