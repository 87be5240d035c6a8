import { isAbsolute, relative } from 'node:path'
import type { AgentName } from '../../config/load-repo-config.js'
import type { AgentActivity, TokenUsage } from '../types.js'

/** What an agent's JSON event stream says: its steps, tokens, and why it failed, if it did. */
export interface ParsedEvents {
  toolCalls: AgentActivity['toolCalls']
  usage?: TokenUsage
  /** The last error the agent reported (a model error, a failed turn). */
  error?: string
}

const SUMMARY_CHARS = 160

/**
 * Reads the event stream of `opencode run --format json` or `codex exec --json` (one JSON object
 * per line; other lines are ignored) into tool calls with short summaries, summed token usage
 * and the last reported error. Paths are shown relative to the workspace.
 */
export function parseAgentEvents(agent: AgentName, text: string, workspace: string): ParsedEvents {
  const parsed: ParsedEvents = { toolCalls: [] }
  const usage = { inputTokens: 0, outputTokens: 0, cachedInputTokens: 0 }
  let sawUsage = false
  let error: string | undefined
  const short = (value: string) => shorten(value, workspace)
  for (const line of text.split('\n')) {
    const event = parseLine(line)
    if (event === undefined) continue
    if (agent === 'opencode') {
      const part = object(event.part)
      if (event.type === 'tool_use' && part !== undefined) {
        const tool = string(part.tool) ?? 'tool'
        const input = object(object(part.state)?.input) ?? {}
        parsed.toolCalls.push({ tool, summary: short(opencodeSummary(tool, input)) })
      } else if (event.type === 'step_finish' && part !== undefined) {
        const tokens = object(part.tokens)
        if (tokens !== undefined) {
          const cache = object(tokens.cache)
          const cached = number(cache?.read)
          // opencode counts cache reads and writes apart from `input`.
          usage.inputTokens += number(tokens.input) + cached + number(cache?.write)
          usage.outputTokens += number(tokens.output) + number(tokens.reasoning)
          usage.cachedInputTokens += cached
          sawUsage = true
        }
      } else if (event.type === 'error') {
        error = errorText(event.error) ?? errorText(event) ?? error
      }
    } else {
      const item = object(event.item)
      if (event.type === 'item.completed' && item !== undefined) {
        const call = codexCall(item)
        if (call !== undefined)
          parsed.toolCalls.push({ tool: call.tool, summary: short(call.summary) })
      } else if (event.type === 'turn.completed') {
        const u = object(event.usage)
        if (u !== undefined) {
          // Codex's input_tokens include the cached ones.
          usage.inputTokens += number(u.input_tokens)
          usage.outputTokens += number(u.output_tokens) + number(u.reasoning_output_tokens)
          usage.cachedInputTokens += number(u.cached_input_tokens)
          sawUsage = true
        }
      } else if (event.type === 'turn.failed') {
        error = errorText(event.error) ?? error
      } else if (event.type === 'error') {
        error = string(event.message) ?? error
      }
    }
  }
  if (sawUsage) parsed.usage = usage
  // Codex's items of type error are warnings (e.g. missing model metadata), not failures.
  if (error !== undefined) parsed.error = error
  return parsed
}

function opencodeSummary(tool: string, input: Record<string, unknown>): string {
  const path = string(input.filePath) ?? string(input.path)
  if (tool === 'bash') return firstLine(string(input.command) ?? '')
  if (path !== undefined) return path
  const pattern = string(input.pattern)
  if (pattern !== undefined) return pattern
  return JSON.stringify(input)
}

function codexCall(item: Record<string, unknown>): { tool: string; summary: string } | undefined {
  switch (item.type) {
    case 'command_execution':
      return { tool: 'exec_command', summary: firstLine(unwrapShell(string(item.command) ?? '')) }
    case 'file_change': {
      const changes = Array.isArray(item.changes) ? item.changes.map(object) : []
      const text = changes
        .map((c) => `${string(c?.kind) ?? 'change'} ${string(c?.path) ?? '?'}`)
        .join(', ')
      return { tool: 'apply_patch', summary: text }
    }
    case 'mcp_tool_call':
      return { tool: string(item.tool) ?? 'mcp', summary: string(item.server) ?? '' }
    case 'web_search':
      return { tool: 'web_search', summary: string(item.query) ?? '' }
    default:
      return undefined
  }
}

/** Absolute paths under the workspace become relative; the text is one line, capped. */
function shorten(text: string, workspace: string): string {
  const relativeText = text.replace(
    /(^|[\s'"=])(\/[^\s'",]+)/g,
    (match, before: string, path: string) => {
      if (!isAbsolute(path)) return match
      const rel = relative(workspace, path)
      return rel.startsWith('..') ? match : `${before}${rel === '' ? '.' : rel}`
    },
  )
  const line = relativeText.replace(/\s+/g, ' ').trim()
  return line.length > SUMMARY_CHARS ? `${line.slice(0, SUMMARY_CHARS - 1)}…` : line
}

/** Codex reports `/usr/bin/bash -lc '<command>'`; the command is what matters. */
function unwrapShell(command: string): string {
  const match = /^\S*\/?(?:ba|z)?sh -l?c '([\s\S]*)'$/.exec(command)
  return match?.[1] === undefined ? command : match[1].replaceAll("'\\''", "'")
}

function firstLine(text: string): string {
  const lines = text.trim().split('\n')
  return lines.length > 1 ? `${lines[0]} …` : (lines[0] ?? '')
}

function parseLine(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith('{')) return undefined
  try {
    return object(JSON.parse(line))
  } catch {
    return undefined
  }
}

function errorText(value: unknown): string | undefined {
  const error = object(value)
  if (error === undefined) return string(value)
  const data = object(error.data)
  return string(data?.message) ?? string(error.message) ?? string(error.name)
}

function object(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined
}

function string(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined
}

function number(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0
}
