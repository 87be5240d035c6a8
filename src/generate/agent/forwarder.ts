/**
 * The program that starts a coding agent inside the sandbox, run as `node -e FORWARDER -- socket
 * port events maxBytes agent-argv...`, without a shell:
 * - listens on 127.0.0.1:<port> in the sandbox's own network namespace (loopback only) and pipes
 *   every connection to DevSys's model proxy on the Unix socket, the agent's only way out
 *   (socket `-`: no forwarding, when the server runs agents unconfined);
 * - starts the agent with stdin closed, copies its stdout (the JSON event stream) to the events
 *   file (at most maxBytes) and to its own stdout, and exits with the agent's status.
 */
export const FORWARDER = `
const net = require('node:net'), fs = require('node:fs'), cp = require('node:child_process')
const args = process.argv.slice(process.argv[1] === '--' ? 2 : 1)
const [socket, port, events, max, ...argv] = args
const limit = Number(max)
let written = 0
const out = fs.openSync(events, 'w')
const server = net.createServer((client) => {
  const upstream = net.connect(socket)
  client.pipe(upstream).on('error', () => client.destroy())
  upstream.pipe(client).on('error', () => upstream.destroy())
  client.on('error', () => upstream.destroy())
  upstream.on('error', () => client.destroy())
})
const start = () => {
  const agent = cp.spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] })
  agent.stdout.on('data', (chunk) => {
    if (written < limit) {
      const part = chunk.subarray(0, limit - written)
      fs.writeSync(out, part)
      written += part.length
    }
    process.stdout.write(chunk)
  })
  agent.on('error', (error) => {
    process.stderr.write('could not start ' + argv[0] + ': ' + error.message + '\\n')
    process.exit(127)
  })
  agent.on('close', (code, signal) => {
    fs.closeSync(out)
    const status = code === null ? 128 + (require('node:os').constants.signals[signal] || 0) : code
    process.stdout.write('', () => process.exit(status))
  })
}
// Without the sandbox (socket "-") the agent reaches the proxy's loopback port itself.
if (socket === '-') start()
else server.listen(Number(port), '127.0.0.1', start)
`
