import type { IncomingMessage, ServerResponse } from 'node:http'

/** An API error with its HTTP status, machine-readable code and the message people read. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message)
  }
}

/** Sends `body` as JSON with `status`. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body, null, 2)
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...headers,
  })
  res.end(text)
}

/**
 * Sends an ApiError as `{ error: { code, message, ...details } }`; a 401 says how to
 * authenticate (`WWW-Authenticate: Bearer`).
 */
export function sendError(res: ServerResponse, error: ApiError, headers?: Record<string, string>) {
  sendJson(
    res,
    error.status,
    { error: { code: error.code, message: error.message, ...error.details } },
    {
      ...(error.status === 401 ? { 'www-authenticate': 'Bearer realm="devsys"' } : {}),
      ...headers,
    },
  )
}

/**
 * Reads a request body as UTF-8 text, stopping as soon as it passes `maxBytes` so an oversized
 * upload costs no more memory than the limit.
 */
export async function readBody(req: IncomingMessage, maxBytes: number): Promise<string> {
  const declared = Number(req.headers['content-length'])
  if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge(declared, maxBytes)
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    const buffer = chunk as Buffer
    size += buffer.length
    if (size > maxBytes) {
      req.destroy()
      throw tooLarge(size, maxBytes)
    }
    chunks.push(buffer)
  }
  return Buffer.concat(chunks).toString('utf8')
}

function tooLarge(size: number, maxBytes: number): ApiError {
  return new ApiError(
    413,
    'payload_too_large',
    `request body is ${size > maxBytes ? 'over' : ''} ${maxBytes} bytes: manifests are limited to ${maxBytes} bytes (MAX_MANIFEST_BYTES)`,
  )
}

/** Parses a JSON request body that must be an object. */
export function parseJsonObject(text: string): Record<string, unknown> {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    throw new ApiError(
      400,
      'invalid_json',
      `request body is not valid JSON: ${(error as Error).message}`,
    )
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ApiError(400, 'invalid_body', 'request body must be a JSON object')
  }
  return value as Record<string, unknown>
}

/** A repository as `owner/name`: GitHub's characters only, so it stays readable in URLs. */
export const REPO_NAME = /^[A-Za-z0-9-]+\/[A-Za-z0-9._-]+$/

/** The `repo` query parameter, or null when absent; 400 unless it looks like `owner/name`. */
export function readRepoParam(url: URL): string | null {
  const repo = url.searchParams.get('repo')
  if (repo !== null && !REPO_NAME.test(repo)) {
    throw new ApiError(400, 'invalid_repo', "the repo query parameter must look like 'owner/name'")
  }
  return repo
}

/** The `limit` query parameter, or undefined when absent; 400 unless it is 1 to 1000. */
export function readLimitParam(url: URL): number | undefined {
  const raw = url.searchParams.get('limit')
  if (raw === null) return undefined
  const limit = Number(raw)
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
    throw new ApiError(400, 'invalid_limit', 'limit must be a whole number from 1 to 1000')
  }
  return limit
}
