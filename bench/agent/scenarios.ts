import type { AgentName } from '../../src/config/load-repo-config.js'
import type { FakeTurn } from '../../test/support/fake-llm.js'

/**
 * The task's tests: one JUnit case per file the "project" must have. The first loop iteration
 * writes only the first file (one case fails), the second writes the other (both pass).
 */
export const WANTED = ['greeting.txt', 'farewell.txt'] as const
export const TEST_SCRIPT_PATH = 'tests/check.sh'
export const JUNIT_PATH = 'build/junit.xml'
export const TEST_COMMAND = ['sh', TEST_SCRIPT_PATH]

export const TEST_SCRIPT = `#!/bin/sh
# One JUnit test case per file the project must have; exits 1 when one is missing.
mkdir -p build
failures=0
cases=''
for file in ${WANTED.join(' ')}; do
  if [ -f "$file" ]; then
    cases="$cases<testcase classname=\\"files\\" name=\\"$file exists\\" time=\\"0\\"/>"
  else
    failures=$((failures + 1))
    cases="$cases<testcase classname=\\"files\\" name=\\"$file exists\\" time=\\"0\\"><failure message=\\"$file is missing\\">write $file</failure></testcase>"
  fi
done
printf '<?xml version="1.0"?>\\n<testsuites><testsuite name="files" tests="${WANTED.length}" failures="%s">%s</testsuite></testsuites>\\n' "$failures" "$cases" > ${JUNIT_PATH}
echo "$failures of ${WANTED.length} checks failed"
[ "$failures" -eq 0 ]
`

/** What one agent run writes: a file and its content. */
export interface Write {
  path: string
  content: string
}

/**
 * The model's side of one agent run: one tool call that writes a file, then a final answer.
 * opencode writes with its `write` tool (a path relative to its --dir); Codex with apply_patch
 * through its exec_command tool, as the agent tests script them (test/generate/agent-*.test.ts).
 * The script is written before the work tree exists (the loop's clone is made by DevSys).
 */
export function oneWrite(agent: AgentName, write: Write): FakeTurn[] {
  const tool =
    agent === 'opencode'
      ? { name: 'write', args: { filePath: write.path, content: write.content } }
      : {
          name: 'exec_command',
          args: {
            cmd: `apply_patch <<'PATCH'\n*** Begin Patch\n*** Add File: ${write.path}\n${write.content
              .replace(/\n$/, '')
              .split('\n')
              .map((line) => `+${line}`)
              .join('\n')}\n*** End Patch\nPATCH\n`,
            yield_time_ms: 10_000,
          },
        }
  return [{ tools: [tool] }, { text: `Wrote ${write.path}.` }]
}

/** The write of iteration `i` (1-based) of the loop scenario; the single scenario uses the first. */
export function writeOf(i: number): Write {
  const path = WANTED[i - 1]
  if (path === undefined) throw new Error(`the loop scenario has ${WANTED.length} iterations`)
  return { path, content: `${path.replace('.txt', '')} from the agent\n` }
}
