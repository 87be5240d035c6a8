import { once } from 'node:events'
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * A scripted stand-in for an OpenAI-compatible model server, on loopback, for tests that run the
 * real coding-agent CLIs (opencode speaks Chat Completions, Codex speaks Responses; both stream).
 * Each model request takes the next turn of the script; once the script is spent every request
 * gets the final text "Done.".
 */
export type FakeTurn =
  /** The model asks for tool calls (name + JSON arguments), in one response. */
  | { tools: Array<{ name: string; args: unknown }> }
  /** The model answers with text and ends its turn. */
  | { text: string }
  /** The server fails: an HTTP status with an OpenAI-style error body. */
  | { status: number; message?: string; retryAfterMs?: number }
  /** The server accepts the request and never answers. */
  | { hang: true }

export interface RecordedRequest {
  method: string
  path: string
  headers: IncomingMessage['headers']
  /** The JSON body, or the raw text when it is not JSON. */
  body: unknown
  /** Which dialect the request was answered in; null for paths the fake does not serve. */
  dialect: 'chat' | 'responses' | null
}

export interface FakeLlm {
  /** Base URL to configure as the endpoint, e.g. http://127.0.0.1:4321/v1 */
  url: string
  /** Every request received, in order. */
  requests: RecordedRequest[]
  /** The model requests only (Chat Completions and Responses). */
  modelRequests(): RecordedRequest[]
  close(): Promise<void>
}

export interface FakeLlmOptions {
  script: FakeTurn[]
  /** Usage reported with every answered turn; distinctive numbers make parsing testable. */
  usage?: { input: number; output: number; cached: number }
  /** Model name reported back; default "fake-model". */
  model?: string
}

const DEFAULT_USAGE = { input: 1000, output: 100, cached: 400 }

/** Starts the fake on 127.0.0.1, a free port, under /v1. */
export async function startFakeLlm(opts: FakeLlmOptions): Promise<FakeLlm> {
  const requests: RecordedRequest[] = []
  const script = [...opts.script]
  const usage = opts.usage ?? DEFAULT_USAGE
  const model = opts.model ?? 'fake-model'
  let calls = 0
  const server = createServer(async (req, res) => {
    const text = await readBody(req)
    let body: unknown = text
    try {
      body = text === '' ? '' : JSON.parse(text)
    } catch {
      // recorded as text
    }
    const path = req.url ?? '/'
    const dialect = path.endsWith('/chat/completions')
      ? 'chat'
      : path.endsWith('/responses')
        ? 'responses'
        : null
    requests.push({ method: req.method ?? 'GET', path, headers: req.headers, body, dialect })
    if (dialect === null || req.method !== 'POST') {
      res.writeHead(404, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ error: { message: `no route ${path}`, type: 'not_found' } }))
      return
    }
    calls += 1
    // opencode asks for a session title in a side request without tools: not a turn of the task.
    const aside = dialect === 'chat' && !hasTools(body)
    const turn = aside ? { text: 'Task' } : (script.shift() ?? { text: 'Done.' })
    if ('hang' in turn) return
    if ('status' in turn) {
      res.writeHead(turn.status, {
        'content-type': 'application/json',
        // Clients that honour it (opencode) retry after this long instead of backing off.
        ...(turn.retryAfterMs === undefined ? {} : { 'retry-after-ms': String(turn.retryAfterMs) }),
      })
      res.end(
        JSON.stringify({
          error: {
            message: turn.message ?? `fake model error ${turn.status}`,
            type: turn.status >= 500 ? 'server_error' : 'invalid_request_error',
            code: null,
          },
        }),
      )
      return
    }
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    })
    const events =
      dialect === 'chat'
        ? chatEvents(turn, calls, model, usage)
        : responsesEvents(turn, calls, model, usage)
    for (const event of events) res.write(event)
    res.end()
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    modelRequests: () => requests.filter((r) => r.dialect !== null),
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

function hasTools(body: unknown): boolean {
  const tools = (body as { tools?: unknown } | null)?.tools
  return Array.isArray(tools) && tools.length > 0
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

type Answer = Extract<FakeTurn, { tools: unknown } | { text: string }>

/** OpenAI Chat Completions, `stream: true` with `stream_options.include_usage`. */
function chatEvents(turn: Answer, n: number, model: string, usage: typeof DEFAULT_USAGE) {
  const id = `chatcmpl-fake-${n}`
  const created = Math.floor(Date.now() / 1000)
  const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) =>
    `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices, ...extra })}\n\n`
  const out = [
    chunk([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }]),
  ]
  if ('text' in turn) {
    out.push(chunk([{ index: 0, delta: { content: turn.text }, finish_reason: null }]))
    out.push(chunk([{ index: 0, delta: {}, finish_reason: 'stop' }]))
  } else {
    turn.tools.forEach((tool, i) => {
      const call = {
        index: i,
        id: `call_${n}_${i}`,
        type: 'function',
        function: { name: tool.name, arguments: JSON.stringify(tool.args) },
      }
      out.push(chunk([{ index: 0, delta: { tool_calls: [call] }, finish_reason: null }]))
    })
    out.push(chunk([{ index: 0, delta: {}, finish_reason: 'tool_calls' }]))
  }
  out.push(
    chunk([], {
      usage: {
        prompt_tokens: usage.input,
        completion_tokens: usage.output,
        total_tokens: usage.input + usage.output,
        prompt_tokens_details: { cached_tokens: usage.cached },
      },
    }),
  )
  out.push('data: [DONE]\n\n')
  return out
}

/** OpenAI Responses, `stream: true`: typed events ending with response.completed. */
function responsesEvents(turn: Answer, n: number, model: string, usage: typeof DEFAULT_USAGE) {
  const id = `resp_fake_${n}`
  const created_at = Math.floor(Date.now() / 1000)
  let seq = 0
  const event = (type: string, data: Record<string, unknown>) =>
    `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: seq++, ...data })}\n\n`
  const base = { id, object: 'response', created_at, model, output: [] as unknown[] }
  const out = [event('response.created', { response: { ...base, status: 'in_progress' } })]
  const items: unknown[] =
    'text' in turn
      ? [
          {
            type: 'message',
            id: `msg_${n}`,
            role: 'assistant',
            status: 'completed',
            content: [{ type: 'output_text', text: turn.text, annotations: [] }],
          },
        ]
      : turn.tools.map((tool, i) => ({
          type: 'function_call',
          id: `fc_${n}_${i}`,
          call_id: `call_${n}_${i}`,
          name: tool.name,
          arguments: JSON.stringify(tool.args),
          status: 'completed',
        }))
  items.forEach((item, i) => {
    out.push(event('response.output_item.added', { output_index: i, item }))
    out.push(event('response.output_item.done', { output_index: i, item }))
  })
  out.push(
    event('response.completed', {
      response: {
        ...base,
        status: 'completed',
        output: items,
        usage: {
          input_tokens: usage.input,
          input_tokens_details: { cached_tokens: usage.cached },
          output_tokens: usage.output,
          output_tokens_details: { reasoning_tokens: 0 },
          total_tokens: usage.input + usage.output,
        },
      },
    }),
  )
  return out
}
