import pino from 'pino'
import { describe, expect, it } from 'vitest'
import { DEFAULT_SANDBOX } from '../../runner/sandbox/sandbox-settings.js'
import { checkAgentVersion, findAgentBinary } from '../../src/generate/agent/agent-binaries.js'
import { agentServerSettings } from '../../src/generate/agent/agent-server-settings.js'
import { agentSandbox } from '../../src/generate/agent/create-agent-generator.js'
import { createGenerator } from '../../src/generate/create-generator.js'

const CONFIG = {
  kind: 'agent' as const,
  agent: 'opencode' as const,
  maxIterations: 1,
  budgetSeconds: 3600,
  timeoutSeconds: 60,
  forbiddenPaths: ['.github/'],
}
const ENDPOINT = { baseUrl: 'http://127.0.0.1:9/v1', apiKey: 'sk-test-123456789' }

describe('agent binaries', () => {
  it('are the versions package.json pins, checked by running them', async () => {
    for (const agent of ['opencode', 'codex'] as const) {
      const binary = findAgentBinary(agent)
      expect(binary.pinned).toMatch(/^\d+\.\d+\.\d+$/)
      expect(await checkAgentVersion(agent)).toEqual({
        agent,
        ok: true,
        version: binary.pinned,
      })
    }
  })
})

describe('agent server settings', () => {
  it('refuses an agent whose version check failed, and logs why', async () => {
    const lines: string[] = []
    const log = pino({ level: 'info' }, { write: (line: string) => lines.push(line) })
    const { settings, checked } = agentServerSettings(
      { baseUrl: ENDPOINT.baseUrl, apiKey: ENDPOINT.apiKey, model: 'gpt-4.1' },
      log,
      async (agent) =>
        agent === 'codex'
          ? { agent, ok: false, message: 'codex is version 0.1.0, but DevSys is built for 0.171.0' }
          : { agent, ok: true, version: '1.18.33' },
    )
    await checked
    expect(settings.endpoint).toEqual(ENDPOINT)
    expect(settings.unavailable).toEqual({
      codex: 'codex is version 0.1.0, but DevSys is built for 0.171.0',
    })
    expect(lines.join('')).toContain('codex is refused: codex is version 0.1.0')
    expect(() =>
      createGenerator('agent', { ...CONFIG, agent: 'codex' }, { agent: settings }),
    ).toThrow(/The codex agent is not available on this DevSys server: codex is version 0.1.0/)
    // opencode passed, and the server's AGENT_MODEL is its model.
    expect(createGenerator('agent', CONFIG, { agent: settings }).kind).toBe('agent')
  })

  it('refuses the agent generator without an endpoint, an agent or a model, saying what to set', () => {
    const none = agentServerSettings({}, pino({ level: 'silent' })).settings
    expect(() => createGenerator('agent', CONFIG, { agent: none })).toThrow(/AGENT_BASE_URL/)
    const endpoint = { endpoint: ENDPOINT, unavailable: {} }
    const { agent: _agent, ...noAgent } = CONFIG
    expect(() => createGenerator('agent', noAgent, { agent: endpoint })).toThrow(
      /Set generator.agent in .github\/devsys.yml/,
    )
    expect(() => createGenerator('agent', CONFIG, { agent: endpoint })).toThrow(
      /Set generator.model in .github\/devsys.yml .* AGENT_MODEL/,
    )
  })

  it('gives agents one sandbox setting per server setting (so the sandbox is probed once), with room for their address space', () => {
    const sandbox = agentSandbox(DEFAULT_SANDBOX)
    expect(agentSandbox(DEFAULT_SANDBOX)).toBe(sandbox)
    expect(sandbox.limits.memoryBytes).toBe(64 * 1024 * 1024 * 1024)
    expect(sandbox.limits.processes).toBe(DEFAULT_SANDBOX.limits.processes)
    const other = { ...DEFAULT_SANDBOX }
    expect(agentSandbox(other)).not.toBe(sandbox)
  })
})
