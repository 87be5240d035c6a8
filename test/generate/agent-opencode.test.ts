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

const write = (filePath: string, content: string) => ({ name: 'write', args: { filePath, content } })
const bash = (command: string) => ({
  name: 'bash',
  args: { command, description: 'run a command' },
})

describe('opencode agent (the real CLI, a fake model)', () => {
  it('turns the manifest into files through its tools, reports its steps and tokens, and never holds the key', async () => {
    const started = Date.now()
    const { result, error, fake, text } = await runAgentTask('opencode', ws, manifest, [
      { tools: [write(join(ws.dir, 'public/index.php'), '<?php echo "Blog";\n')] },
      { tools: [write(join(ws.dir, 'tests/BlogTest.php'), '<?php // test\n')] },
      { tools: [bash('env; cat "$HOME"/.config/opencode/* 2>/dev/null; echo done')] },
      { text: 'The blog is written.' },
    ])
    const elapsed = Date.now() - started
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
    console.info(`opencode run with the fake model: ${elapsed} ms`)
  })
})
