import { readFileSync } from 'node:fs'
import type { RunnerConfig } from '../../runner/create-runner.js'
import type { AppConfig } from '../config/load-env.js'
import { registerSecret } from './redact.js'

/**
 * Registers every secret of DevSys's configuration for redaction: the App's private key
 * (PRIVATE_KEY or the file at PRIVATE_KEY_PATH), WEBHOOK_SECRET, MANAGER_API_TOKEN,
 * AGENT_API_KEY, the passwords in DATABASE_URL and REDIS_URL, and the contents of the ssh key files
 * EXTERNAL_DEPLOY_SSH_KEY_PATH and REMOTE_SSH_KEY_PATH, and the notification destinations'
 * secrets (NOTIFY_WEBHOOK_SECRET, the Slack webhook's path, the NOTIFY_SMTP_URL password). Returns a warning per secret too short
 * to redact without mangling ordinary text, for the boot log.
 */
export function registerConfigSecrets(config: AppConfig, runner?: RunnerConfig): string[] {
  const warnings: string[] = []
  const values: Array<[string, string | undefined]> = [
    ['PRIVATE_KEY', config.privateKey],
    ['WEBHOOK_SECRET', config.webhookSecret],
    ['MANAGER_API_TOKEN', config.managerApiToken],
    ['GITHUB_CLIENT_SECRET', config.oauth?.clientSecret],
    ['AGENT_API_KEY', config.agent.apiKey],
    ['DATABASE_URL', urlPassword(config.databaseUrl)],
    ['REDIS_URL', urlPassword(config.redisUrl)],
    ['EXTERNAL_DEPLOY_SSH_KEY_PATH', readKeyFile(config.deploy.ssh.privateKeyPath)],
    ['REMOTE_SSH_KEY_PATH', readKeyFile(runner?.ssh?.privateKeyPath)],
    ...notifySecrets(config),
  ]
  for (const [name, value] of values) {
    if (value === undefined || value.trim() === '') continue
    if (!registerSecret(value)) {
      warnings.push(
        `${name} is shorter than 8 characters, so DevSys cannot redact it from output without mangling ordinary text; use a longer random value, e.g. from \`openssl rand -hex 32\``,
      )
    }
  }
  return warnings
}

/** The password a URL (DATABASE_URL, REDIS_URL) holds (decoded), if any. */
function urlPassword(url: string | undefined): string | undefined {
  if (url === undefined) return undefined
  try {
    return decodeURIComponent(new URL(url).password)
  } catch {
    return undefined
  }
}

/** The notification destinations' secrets: webhook signing secret, Slack's path, SMTP password. */
function notifySecrets(config: AppConfig): Array<[string, string | undefined]> {
  const secrets: Array<[string, string | undefined]> = []
  for (const d of config.notify.destinations) {
    if (d.channel === 'webhook') secrets.push(['NOTIFY_WEBHOOK_SECRET', d.secret])
    // The incoming webhook's path is its token.
    if (d.channel === 'slack') secrets.push(['NOTIFY_SLACK_WEBHOOK_URL', urlPath(d.url)])
    if (d.channel === 'email') secrets.push(['NOTIFY_SMTP_URL', urlPassword(d.smtpUrl)])
  }
  return secrets
}

/** A URL's path (where an incoming webhook's token is), if any. */
function urlPath(url: string): string | undefined {
  try {
    const path = new URL(url).pathname
    return path === '/' ? undefined : path
  } catch {
    return undefined
  }
}

/**
 * The key file's text, or undefined when it cannot be read now: the deploy target or runner
 * that uses it reports that itself, with the variable to fix.
 */
function readKeyFile(path: string | undefined): string | undefined {
  if (path === undefined || path === '') return undefined
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return undefined
  }
}
