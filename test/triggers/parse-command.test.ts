import { describe, expect, it } from 'vitest'
import { parseCommand } from '../../src/triggers/parse-command.js'

describe('parseCommand', () => {
  it('reads each command with its arguments', () => {
    expect(parseCommand('/deploy')).toEqual({
      kind: 'command',
      command: { name: 'deploy', environment: null, dryRun: false },
    })
    expect(parseCommand('  /deploy staging --dry-run ')).toEqual({
      kind: 'command',
      command: { name: 'deploy', environment: 'staging', dryRun: true },
    })
    expect(parseCommand('/rollback')).toEqual({ kind: 'command', command: { name: 'rollback' } })
    expect(parseCommand('\n\n/test\r\nthanks')).toEqual({
      kind: 'command',
      command: { name: 'test' },
    })
    expect(parseCommand('/HELP')).toEqual({ kind: 'command', command: { name: 'help' } })
  })

  it('takes the whole rest of the comment as /revise feedback', () => {
    expect(parseCommand('/revise show the newest post first\nand add a footer\n')).toEqual({
      kind: 'command',
      command: { name: 'revise', feedback: 'show the newest post first\nand add a footer' },
    })
    expect(parseCommand('/revise\nmake titles bigger')).toEqual({
      kind: 'command',
      command: { name: 'revise', feedback: 'make titles bigger' },
    })
  })

  it('ignores comments that are not commands', () => {
    for (const body of [
      null,
      '',
      'LGTM',
      'please /deploy this',
      '`/deploy`',
      '/ deploy',
      'http://x/deploy',
    ]) {
      expect(parseCommand(body)).toEqual({ kind: 'none' })
    }
  })

  it('explains invalid commands without echoing backticks or long text', () => {
    expect(parseCommand('/revise')).toMatchObject({ kind: 'invalid', name: 'revise' })
    expect(parseCommand('/deploy prod staging')).toMatchObject({
      kind: 'invalid',
      message: expect.stringContaining('one environment'),
    })
    expect(parseCommand('/deploy --force')).toMatchObject({
      kind: 'invalid',
      message: expect.stringContaining('--dry-run'),
    })
    const shell = parseCommand('/deploy $(rm -rf /)')
    expect(shell).toMatchObject({ kind: 'invalid', name: 'deploy' })
    expect(parseCommand('/rollback now')).toMatchObject({
      kind: 'invalid',
      message: expect.stringContaining('takes no arguments'),
    })
    const unknown = parseCommand(`/frobnicate-${'x'.repeat(100)}`)
    expect(unknown).toMatchObject({ kind: 'invalid' })
    if (unknown.kind === 'invalid') {
      expect(unknown.message).toContain('is not a DevSys command')
      expect(unknown.message.length).toBeLessThan(160)
    }
    expect(parseCommand(`/revise ${'x'.repeat(9000)}`)).toMatchObject({
      kind: 'invalid',
      name: 'revise',
    })
  })
})
