import nodemailer, { type Transporter } from 'nodemailer'
import { guardUrl } from '../verify/guard-url.js'
import type { DestinationReach } from './post-guarded.js'
import { NOTIFY_ALLOWED_WHERE } from './post-guarded.js'

export type EmailResult =
  | { kind: 'sent' }
  | { kind: 'refused'; reason: string; transient: boolean }
  /** `permanent`: the server refused for good (SMTP 5xx); otherwise try again later. */
  | { kind: 'error'; reason: string; permanent: boolean }

/**
 * SMTP through nodemailer's pooled transport, one pool per destination and checked address.
 * The SMTP host passes the same guard as web destinations, and the pool connects to the address
 * that was checked (TLS still verifies the host's name).
 */
export function createEmailSender(reach: DestinationReach, opts: { timeoutMs: number }) {
  const pools = new Map<string, Transporter>()

  async function send(
    smtpUrl: string,
    message: { from: string; to: string[]; subject: string; text: string; messageId: string },
  ): Promise<EmailResult> {
    let url: URL
    try {
      url = new URL(smtpUrl)
    } catch {
      return { kind: 'refused', reason: 'the SMTP URL is not a URL', transient: false }
    }
    const secure = url.protocol === 'smtps:'
    const port = Number(url.port || (secure ? 465 : 587))
    // The guard judges addresses; it is given the host as a web URL to reuse its checks.
    const guard = await guardUrl(new URL(`http://${url.host}`), {
      trustedOrigins: [],
      allowed: reach.allowed,
      allowedWhere: NOTIFY_ALLOWED_WHERE,
      ...(reach.resolve ? { resolve: reach.resolve } : {}),
    })
    if (!guard.ok) return { kind: 'refused', reason: guard.reason, transient: guard.transient }
    const key = `${smtpUrl}\n${guard.pinned.address}`
    let pool = pools.get(key)
    if (pool === undefined) {
      pool = nodemailer.createTransport({
        pool: true,
        maxConnections: 2,
        host: guard.pinned.address,
        port,
        secure,
        ...(url.username === ''
          ? {}
          : {
              auth: {
                user: decodeURIComponent(url.username),
                pass: decodeURIComponent(url.password),
              },
            }),
        tls: { servername: url.hostname },
        connectionTimeout: opts.timeoutMs,
        greetingTimeout: opts.timeoutMs,
        socketTimeout: opts.timeoutMs,
      })
      pools.set(key, pool)
    }
    try {
      await pool.sendMail({
        from: message.from,
        to: message.to,
        subject: message.subject,
        text: message.text,
        messageId: message.messageId,
      })
      return { kind: 'sent' }
    } catch (error) {
      const err = error as { responseCode?: number; code?: string; message?: string }
      const permanent = typeof err.responseCode === 'number' && err.responseCode >= 500
      const why = err.responseCode ? `SMTP ${err.responseCode}` : (err.code ?? 'error')
      return { kind: 'error', reason: `${url.hostname}: ${why}`, permanent }
    }
  }

  return {
    send,
    /** Closes every pooled connection. */
    close(): void {
      for (const pool of pools.values()) pool.close()
      pools.clear()
    },
  }
}
