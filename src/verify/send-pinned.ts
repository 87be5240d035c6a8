import { request as httpRequest, type IncomingMessage } from 'node:http'
import { request as httpsRequest } from 'node:https'
import type { LookupFunction } from 'node:net'
import { Readable } from 'node:stream'
import type { PinnedAddress } from './guard-url.js'

export interface SendInit {
  method: string
  headers: Record<string, string>
  body?: string
  signal: AbortSignal
}

/** Sends one request to `url`, connecting to `to` (an address the guard checked). */
export type SendRequest = (url: URL, to: PinnedAddress, init: SendInit) => Promise<Response>

/** Statuses whose answers have no body; a web Response refuses one for them. */
const NULL_BODY = new Set([101, 103, 204, 205, 304])

/**
 * Sends one request with node:http(s), connecting to the checked address whatever DNS says
 * now (so a name cannot resolve to a public address for the check and to loopback for the
 * connection). TLS still verifies the certificate against the URL's host name. Redirects are
 * not followed: the caller checks each hop. No connection is reused, so every request goes
 * where its own check said.
 */
export const sendPinned: SendRequest = (url, to, init) => {
  const lookup: LookupFunction = (_hostname, options, callback) => {
    if (options.all === true) callback(null, [{ address: to.address, family: to.family }])
    else callback(null, to.address, to.family)
  }
  const headers = { ...init.headers }
  if (init.body !== undefined && !hasHeader(headers, 'content-length')) {
    headers['content-length'] = String(Buffer.byteLength(init.body))
  }
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest
  return new Promise((resolve, reject) => {
    const req = send(url, {
      method: init.method,
      headers,
      lookup,
      agent: false,
      signal: init.signal,
    })
    req.on('error', reject)
    req.on('response', (res) => {
      try {
        resolve(toResponse(res, init.method))
      } catch (error) {
        res.destroy()
        reject(error)
      }
    })
    req.end(init.body)
  })
}

function toResponse(res: IncomingMessage, method: string): Response {
  const status = res.statusCode ?? 0
  if (status < 200 || status > 599) {
    throw new Error(`the site answered with status ${status}, which is not an HTTP status`)
  }
  const headers = new Headers()
  for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) {
    const name = res.rawHeaders[i] ?? ''
    const value = res.rawHeaders[i + 1] ?? ''
    try {
      headers.append(name, value)
    } catch {
      // A header web Headers cannot hold is not one a check looks at.
    }
  }
  const empty = NULL_BODY.has(status) || method === 'HEAD'
  if (empty) res.resume()
  const body = empty ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>)
  return new Response(body, { status, headers })
}

function hasHeader(headers: Record<string, string>, name: string): boolean {
  return Object.keys(headers).some((key) => key.toLowerCase() === name)
}
