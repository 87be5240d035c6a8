import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { DUMMY_KEY } from '../../src/generate/agent/agent-presets.js'
import type { Manifest } from '../../src/manifest/types.js'
import { processesWith } from '../helpers/processes.js'
import { API_KEY, listenOnHost, runAgentTask, sentToModel } from './agent-harness.js'
import { createWorkspace, loadManifest, type TestWorkspace } from './workspace.js'

let ws: TestWorkspace
let manifest: Manifest
beforeAll(async () => {
  manifest = await loadManifest('specs/create-blog.json')
})
beforeEach(async () => {
  ws = await createWorkspace()
})
afterEach(async () => {
  await ws.cleanup()
})

const write = (filePath: string, content: string) => ({
  name: 'write',
  args: { filePath, content },
})
const bash = (command: string) => ({
  name: 'bash',
  args: { command, description: 'run a command' },
})

describe('opencode agent (the real CLI, a fake model)', { timeout: 120_000 }, () => {
  it('turns the manifest into files through its tools, reports its steps and tokens, and never holds the key', async () => {
    const { result, error, fake, text } = await runAgentTask('opencode', ws, manifest, [
      { tools: [write(join(ws.dir, 'public/index.php'), '<?php echo "Blog";\n')] },
      { tools: [write(join(ws.dir, 'tests/BlogTest.php'), '<?php // test\n')] },
      { tools: [bash('env; cat "$HOME"/.config/opencode/* 2>/dev/null; echo done')] },
      { text: 'The blog is written.' },
    ])
    expect(error).toBeUndefined()
    expect(result?.files).toEqual(
      expect.arrayContaining(['.devsys/task.yml', 'public/index.php', 'tests/BlogTest.php']),
    )
    expect(await readFile(join(ws.dir, 'public/index.php'), 'utf8')).toBe('<?php echo "Blog";\n')
    expect(result?.activity).toMatchObject({
      agent: 'opencode',
      model: 'fake-coder-1',
      toolCalls: [
        { tool: 'write', summary: 'public/index.php' },
        { tool: 'write', summary: 'tests/BlogTest.php' },
        { tool: 'bash', summary: expect.stringContaining('env;') },
      ],
      // Four model turns of 1234 input (200 cached) and 56 output tokens each.
      usage: { inputTokens: 4 * 1234, outputTokens: 4 * 56, cachedInputTokens: 4 * 200 },
    })
    expect(result?.summary).toMatch(/^Ran opencode \(fake-coder-1\): 3 tool calls, /)
    // The prompt is the task: the manifest's title reaches the model.
    expect(sentToModel(fake)).toContain('A small PHP blog')
    // The proxy added the real key; the agent only ever had the dummy one (its env was dumped).
    for (const request of fake.modelRequests()) {
      expect(request.headers.authorization).toBe(`Bearer ${API_KEY}`)
    }
    expect(sentToModel(fake)).toContain(DUMMY_KEY)
    expect(sentToModel(fake)).not.toContain(API_KEY)
    expect(text).not.toContain(API_KEY)
  })
})

describe('opencode agent: what it may not do', { timeout: 120_000 }, () => {
  it('is refused when it writes under a forbidden path (.github/)', async () => {
    const { error } = await runAgentTask('opencode', ws, manifest, [
      { tools: [write(join(ws.dir, '.github/workflows/steal.yml'), 'on: push\n')] },
    ])
    expect(error).toMatchObject({ code: 'forbidden-path' })
    expect(error?.message).toContain('.github/workflows/steal.yml')
  })

  it('cannot write outside its work tree or into .git through its bash tool', async () => {
    const config = await readFile(join(ws.dir, '.git/config'), 'utf8')
    const { result, error, fake } = await runAgentTask('opencode', ws, manifest, [
      {
        tools: [
          bash(
            `echo x > ${ws.parent}/escape.txt; echo '[alias]' >> .git/config; echo y > /usr/local/escape.txt; echo ok > inside.txt`,
          ),
        ],
      },
      { text: 'Done.' },
    ])
    expect(error).toBeUndefined()
    await expect(stat(join(ws.parent, 'escape.txt'))).rejects.toThrow(/ENOENT/)
    await expect(stat('/usr/local/escape.txt')).rejects.toThrow(/ENOENT/)
    expect(await readFile(join(ws.dir, '.git/config'), 'utf8')).toBe(config)
    expect(result?.files).toEqual(['.devsys/task.yml', 'inside.txt'])
    // The shell's errors went back to the model.
    expect(sentToModel(fake)).toMatch(/Permission denied|Read-only file system/)
  })

  it('reaches nothing but the model endpoint: not a port on the host, not the internet, no other path', async () => {
    const host = await listenOnHost()
    try {
      const { error, fake } = await runAgentTask('opencode', ws, manifest, [
        {
          tools: [
            bash(
              [
                `(exec 3<>/dev/tcp/127.0.0.1/${host.port} && echo HOST-$((1+1))) 2>&1 | tail -1`,
                `(exec 3<>/dev/tcp/1.1.1.1/80 && echo INTERNET-$((1+1))) 2>&1 | tail -1`,
                `node -e "for (const p of ['/elsewhere', '/v1/files']) fetch('http://127.0.0.1:8788' + p, { method: 'POST' }).then(r => console.log('proxy-status', p, r.status), e => console.log('proxy-error', e.message))"`,
              ].join('; '),
            ),
          ],
        },
        { text: 'Done.' },
      ])
      expect(error).toBeUndefined()
      expect(host.connections()).toBe(0)
      const sent = sentToModel(fake)
      expect(sent).toContain('proxy-status /elsewhere 403')
      expect(sent).toContain('proxy-status /v1/files 403')
      expect(sent).not.toContain('HOST-2')
      expect(sent).not.toContain('INTERNET-2')
      // The proxy forwarded model calls only.
      expect(fake.requests.every((r) => r.path === '/v1/chat/completions')).toBe(true)
    } finally {
      await host.close()
    }
  })
})

describe('opencode agent: failures', { timeout: 120_000 }, () => {
  it('is stopped at its timeout when the model hangs, with nothing left running', async () => {
    const { error } = await runAgentTask('opencode', ws, manifest, [{ hang: true }], {
      timeoutSeconds: 20,
    })
    expect(error).toMatchObject({ code: 'timeout' })
    expect(error?.message).toMatch(
      /^The opencode agent did not finish within 20 s and was stopped\. It was waiting for the model endpoint, which had not answered for \d+ s\./,
    )
    expect(processesWith(ws.dir)).toEqual([])
  })

  it('reports a 4xx from the model clearly', async () => {
    const { error, text } = await runAgentTask('opencode', ws, manifest, [
      { status: 401, message: 'Incorrect API key provided: sk-fa****' },
    ])
    expect(error).toMatchObject({ code: 'exit-code' })
    expect(error?.message).toContain('Incorrect API key provided')
    expect(error?.message).toContain('AGENT_API_KEY')
    expect(text).not.toContain(API_KEY)
  })

  it('reports a 5xx from the model clearly', async () => {
    const started = Date.now()
    const { error, fake } = await runAgentTask(
      'opencode',
      ws,
      manifest,
      Array.from({ length: 20 }, () => ({
        status: 500,
        message: 'The server had an error',
        retryAfterMs: 100,
      })),
      { timeoutSeconds: 120 },
    )
    expect(error).toMatchObject({ code: 'exit-code' })
    expect(error?.message).toContain('The server had an error')
    // It retried (the title request aside), but briefly: the fake says retry-after-ms: 100.
    expect(fake.modelRequests().length).toBeGreaterThan(2)
    expect(Date.now() - started).toBeLessThan(60_000)
  })
})
