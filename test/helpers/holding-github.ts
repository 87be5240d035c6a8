import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'

/**
 * A GitHub Enterprise stand-in whose token endpoint holds requests until released, so a job is
 * certainly still running when DevSys is told to stop; everything else is answered 404.
 */
export async function holdingGitHub() {
  const held: ServerResponse[] = []
  let hold = true
  const answer = (res: ServerResponse) =>
    res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"stop here"}')
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume()
    if (hold && req.url?.endsWith('/access_tokens')) held.push(res)
    else answer(res)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : 0
  return {
    host: `127.0.0.1:${port}`,
    held: () => held.length,
    release() {
      hold = false
      for (const res of held.splice(0)) answer(res)
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/** Polls `check` every 10 ms until it holds. */
export async function until(what: string, check: () => boolean | Promise<boolean>, ms = 10_000) {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}
