/**
 * A task test command that holds until the test opens its gate, so that a test attempt is
 * certainly still running when the test kills the DevSys process running it.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach } from 'vitest'
import { processesWith } from '../helpers/processes.js'

/**
 * The test command (`sh -c SCRIPT gated GATE`): waits until the file `open` appears in GATE (a
 * host folder the sandbox may read), then writes a JUnit report with one passing case.
 */
const GATED_SCRIPT = `until [ -e "$1/open" ]; do sleep 0.1; done
mkdir -p build
printf '%s\\n' '<testsuites><testsuite name="gated" tests="1"><testcase classname="gated" name="ran once the gate opened"/></testsuite></testsuites>' > build/junit.xml
`

export interface Gate {
  /** The gate folder: give it to DevSys as SANDBOX_READONLY_PATHS. */
  readonly dir: string
  /** The manifest's `tests.command`. */
  command(): string[]
  /** Host processes naming the gate: the sandboxed test command and its bwrap. */
  processes(): number[]
  /** Lets every gated test command run to its end. */
  open(): void
}

/** A fresh gate per test (registers beforeEach/afterEach; call once at the top of a file). */
export function useGate(): Gate {
  let dir = ''
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'devsys-e2e-gate-'))
    // Readable by the sandbox user when DevSys runs as root.
    chmodSync(dir, 0o755)
  })
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true })
  })
  return {
    get dir() {
      return dir
    },
    command: () => ['sh', '-c', GATED_SCRIPT, 'gated', dir],
    processes: () => processesWith(dir),
    open: () => writeFileSync(join(dir, 'open'), ''),
  }
}
