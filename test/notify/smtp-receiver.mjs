// An SMTP server (smtp-server) on a free loopback port, run as its own process by the email
// channel's tests: prints {"port"} once listening, then one JSON line per message accepted.
import { SMTPServer } from 'smtp-server'

const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS', 'AUTH'],
  logger: false,
  onData(stream, session, callback) {
    const chunks = []
    stream.on('data', (chunk) => chunks.push(chunk))
    stream.on('end', () => {
      process.stdout.write(
        `${JSON.stringify({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          data: Buffer.concat(chunks).toString('utf8'),
        })}\n`,
      )
      callback()
    })
  },
})
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: server.server.address().port })}\n`)
})
process.on('SIGTERM', () => server.close(() => process.exit(0)))
