import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { createServer, type Server } from 'node:net'
import type { SandboxSettings } from '../../runner/sandbox/sandbox-settings.js'
import type { AgentName } from '../../src/config/load-repo-config.js'
import { createGenerator } from '../../src/generate/create-generator.js'
import type { GenerateResult } from '../../src/generate/types.js'
import type { Manifest } from '../../src/manifest/types.js'
import { type FakeLlm, type FakeTurn, startFakeLlm } from '../support/fake-llm.js'
import { requestFor, type TestWorkspace } from './workspace.js'

/** A key distinctive enough that any leak is found by a plain substring search. */
export const API_KEY = 'sk-devsys-test-0fb1c9d2e3a4-never-leak'

export interface AgentOutcome {
  result?: GenerateResult
  error?: Error
  fake: FakeLlm
  /** Everything DevSys returned or threw, as text, to search for the key. */
  text: string
}

/** Runs the real `agent` CLI through createGenerator against a fake model playing `script`. */
export async function runAgentTask(
  agent: AgentName,
  ws: TestWorkspace,
  manifest: Manifest,
  script: FakeTurn[],
  opts: { timeoutSeconds?: number; sandbox?: SandboxSettings; feedback?: string } = {},
): Promise<AgentOutcome> {
  const fake = await startFakeLlm({ script, usage: { input: 1234, output: 56, cached: 200 } })
  try {
    const generator = createGenerator(
      'agent',
      {
        kind: 'agent',
        agent,
        model: 'fake-coder-1',
        maxIterations: 1,
        budgetSeconds: 3600,
        timeoutSeconds: opts.timeoutSeconds ?? 60,
        forbiddenPaths: ['.github/'],
      },
      {
        killGraceMs: 500,
        ...(opts.sandbox === undefined ? {} : { sandbox: opts.sandbox }),
        agent: { endpoint: { baseUrl: fake.url, apiKey: API_KEY }, unavailable: {} },
      },
    )
    const outcome: AgentOutcome = { fake, text: '' }
    try {
      const extra = opts.feedback === undefined ? {} : { feedback: opts.feedback }
      outcome.result = await generator.generate(requestFor(ws.dir, manifest, extra))
      outcome.text = JSON.stringify(outcome.result)
    } catch (error) {
      outcome.error = error as Error
      outcome.text = `${(error as Error).message}\n${(error as Error).stack ?? ''}`
    }
    return outcome
  } finally {
    await fake.close()
  }
}

/** Everything the agent sent to the model (its prompts, tool results), as one text. */
export function sentToModel(fake: FakeLlm): string {
  return fake
    .modelRequests()
    .map((r) => JSON.stringify(r.body))
    .join('\n')
}

/** A TCP listener on the host's loopback that counts connections: what the agent must not reach. */
export async function listenOnHost(): Promise<{
  port: number
  connections: () => number
  close: () => Promise<void>
}> {
  let count = 0
  const server: Server = createServer((socket) => {
    count += 1
    socket.end('hello from the host\n')
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return {
    port: (server.address() as AddressInfo).port,
    connections: () => count,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}
