import { redact } from '../secrets/redact.js'
import type { Deployment, MonitorFailure } from '../store/store.js'

/** Labels of every incident issue, besides the environment's name. */
export const INCIDENT_LABEL = 'devsys-incident'
/** An open issue with this label mutes the monitor's alerts in its repository. */
export const MAINTENANCE_LABEL = 'maintenance'

/** Hidden marker that names the environment of an incident issue. */
export function incidentMarker(environment: string): string {
  return `<!-- devsys:incident ${environment} -->`
}

/** What an incident says about the deployment that was live: the likely cause. */
export interface LiveDeployment {
  deployment: Pick<
    Deployment,
    'id' | 'commitSha' | 'taskId' | 'trigger' | 'actor' | 'finishedAt' | 'createdAt' | 'url'
  >
  /** The task's pull request, when it has one. */
  pullRequest: number | null
}

const short = (sha: string) => sha.slice(0, 7)
const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ')

export function formatIncidentTitle(environment: string, failures: MonitorFailure[]): string {
  const ids = failures.map((f) => f.id).slice(0, 3)
  const more = failures.length > 3 ? ` and ${failures.length - 3} more` : ''
  return `${environment} is down: ${ids.join(', ')}${more} failing`
}

/** The incident issue's body: the failing checks, their answers and the live deployment. */
export function formatIncidentOpened(input: {
  environment: string
  url: string | null
  failures: MonitorFailure[]
  failingSince: string
  checks: number
  live: LiveDeployment
  intervalSeconds: number
  successThreshold: number
  /** Set when the monitor queued a rollback of the live deployment. */
  rollingBack: boolean
}): string {
  const where = input.url === null ? '' : ` at ${input.url}`
  const lines = [
    incidentMarker(input.environment),
    `### 🔴 \`${input.environment}\` is down`,
    '',
    `${input.checks} checks in a row of \`${input.environment}\`${where} failed, the first at ${input.failingSince}.`,
    '',
    ...formatFailures(input.failures),
    '',
    `**Live deployment** (the likely cause): ${formatLive(input.live)}`,
  ]
  if (input.rollingBack) {
    lines.push(
      '',
      `DevSys is rolling it back (\`monitor.autoRollback\`): \`${input.environment}\` goes back to the release live before it, and the merge is reverted, as \`/rollback\` does.`,
    )
  }
  lines.push(
    '',
    `DevSys checks again every ${input.intervalSeconds} s and closes this issue once ${input.successThreshold} checks in a row pass. An open issue labelled \`${MAINTENANCE_LABEL}\` mutes these alerts.`,
  )
  return lines.join('\n')
}

/** The comment when the failing checks change while the incident is open. */
export function formatIncidentChanged(environment: string, failures: MonitorFailure[]): string {
  return [
    `### \`${environment}\` is still down; what fails changed`,
    '',
    ...formatFailures(failures),
  ].join('\n')
}

/** The reminder comment on an incident still open. */
export function formatIncidentReminder(input: {
  environment: string
  failingSince: string
  now: number
  failures: MonitorFailure[]
}): string {
  const down = formatDuration(input.now - Date.parse(input.failingSince))
  return [
    `### \`${input.environment}\` is still down (${down})`,
    '',
    ...formatFailures(input.failures),
  ].join('\n')
}

/** The comment that closes an incident. */
export function formatIncidentResolved(input: {
  environment: string
  downtimeMs: number
  failingSince: string | null
  resolvedAt: string
  checks: number
}): string {
  const since =
    input.failingSince === null ? '' : ` (from ${input.failingSince} to ${input.resolvedAt})`
  return [
    `### ✅ \`${input.environment}\` is up again`,
    '',
    `${input.checks} checks in a row passed. Downtime: **${formatDuration(input.downtimeMs)}**${since}.`,
  ].join('\n')
}

/** 90_000 → "1 min 30 s"; 7_200_000 → "2 h 0 min". */
export function formatDuration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000))
  const h = Math.floor(seconds / 3600)
  const m = Math.floor((seconds % 3600) / 60)
  const s = seconds % 60
  if (h > 0) return `${h} h ${m} min`
  if (m > 0) return `${m} min ${s} s`
  return `${s} s`
}

function formatFailures(failures: MonitorFailure[]): string[] {
  const lines = [
    '| Check | Request | Status | Problems |',
    '|---|---|---|---|',
    ...failures.map(
      (f) =>
        `| ${cell(f.id)} | ${f.request === undefined ? '' : `\`${cell(f.request)}\``} | ` +
        `${f.status ?? '—'} (expected ${f.expected}) | ${cell(f.problems.join('; '))} |`,
    ),
  ]
  const answers = failures.filter((f) => f.excerpt !== undefined && f.excerpt !== '')
  if (answers.length > 0) {
    lines.push('', '<details><summary>Responses (trimmed)</summary>', '')
    for (const f of answers) {
      // Never a secret, and no fence the answer could close early.
      const text = redact(f.excerpt ?? '').replace(/```/g, '`\u200b``')
      lines.push(`**${cell(f.id)}**`, '', '```', text, '```', '')
    }
    lines.push('</details>')
  }
  return lines
}

function formatLive(live: LiveDeployment): string {
  const d = live.deployment
  const parts = [`\`${short(d.commitSha)}\``]
  if (live.pullRequest !== null) parts.push(`from #${live.pullRequest}`)
  if (d.taskId !== null) parts.push(`(task \`${d.taskId}\`)`)
  const by = d.trigger === 'rollback' ? 'rolled back to' : 'deployed'
  parts.push(`${by} by @${d.actor} at ${d.finishedAt ?? d.createdAt}, deployment ${d.id}`)
  return parts.join(' ')
}
