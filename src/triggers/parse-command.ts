/** A DevSys command, as written in a pull request comment. */
export type Command =
  | { name: 'deploy'; environment: string | null; dryRun: boolean }
  | { name: 'rollback' }
  | { name: 'test' }
  | { name: 'revise'; feedback: string }
  | { name: 'help' }

export type ParsedComment =
  | { kind: 'none' }
  | { kind: 'command'; command: Command }
  /** It looks like a DevSys command but is not a valid one: tell the user why. */
  | { kind: 'invalid'; name: string; message: string }

export const COMMAND_NAMES = ['deploy', 'rollback', 'test', 'revise', 'help'] as const
export type CommandName = (typeof COMMAND_NAMES)[number]

const ENVIRONMENT = /^[a-z0-9][a-z0-9-]{0,62}$/
const MAX_FEEDBACK = 8_000

/**
 * Reads a command from a comment: its first non-empty line must start with `/name`. Only that
 * line holds arguments, except for `/revise`, whose feedback is the rest of the comment.
 * Commands are matched exactly, so prose that mentions `/deploy` mid-sentence is no command.
 */
export function parseCommand(body: string | null | undefined): ParsedComment {
  const text = (body ?? '').replace(/\r\n?/g, '\n')
  const lines = text.split('\n')
  const first = lines.findIndex((line) => line.trim() !== '')
  const line = first === -1 ? '' : (lines[first] ?? '').trim()
  const match = /^\/([a-z][a-z-]*)(?:\s+(.*))?$/i.exec(line)
  if (!match?.[1]) return { kind: 'none' }
  const name = match[1].toLowerCase()
  const args = (match[2] ?? '').trim()
  switch (name) {
    case 'deploy':
      return parseDeploy(args)
    case 'rollback':
    case 'test':
    case 'help':
      if (args !== '')
        return invalid(name, `\`/${name}\` takes no arguments (got \`${short(args)}\`).`)
      return { kind: 'command', command: { name } }
    case 'revise': {
      const rest = [args, ...lines.slice(first + 1)].join('\n').trim()
      if (rest === '') {
        return invalid(
          name,
          'Say what to change after `/revise`, e.g. `/revise show the newest post first`.',
        )
      }
      if (rest.length > MAX_FEEDBACK) {
        return invalid(
          name,
          `The feedback is ${rest.length} characters; keep it under ${MAX_FEEDBACK}.`,
        )
      }
      return { kind: 'command', command: { name: 'revise', feedback: rest } }
    }
    default:
      return invalid(name, `\`/${short(name)}\` is not a DevSys command.`)
  }
}

function parseDeploy(args: string): ParsedComment {
  let environment: string | null = null
  let dryRun = false
  for (const word of args.split(/\s+/).filter(Boolean)) {
    if (word === '--dry-run') dryRun = true
    else if (word.startsWith('-'))
      return invalid(
        'deploy',
        `Unknown option \`${short(word)}\`; the only option is \`--dry-run\`.`,
      )
    else if (environment !== null)
      return invalid('deploy', 'Name one environment, e.g. `/deploy staging`.')
    else if (!ENVIRONMENT.test(word)) {
      return invalid(
        'deploy',
        `\`${short(word)}\` is not an environment name (lowercase letters, digits and hyphens).`,
      )
    } else environment = word
  }
  return { kind: 'command', command: { name: 'deploy', environment, dryRun } }
}

function invalid(name: string, message: string): ParsedComment {
  return {
    kind: 'invalid',
    name,
    message: `${message} Comment \`/help\` for the list of commands.`,
  }
}

/** Quotes user text safely in Markdown code spans: short, one line, no backticks. */
function short(text: string): string {
  const line = text.replace(/[`\n\r]/g, ' ')
  return line.length > 40 ? `${line.slice(0, 40)}…` : line
}
