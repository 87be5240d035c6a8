import type { GitHubClient } from '../app-deps.js'
import { INCIDENT_LABEL, incidentMarker, MAINTENANCE_LABEL } from './format-incident.js'

type IssuesApi = Pick<
  GitHubClient['rest']['issues'],
  'listForRepo' | 'create' | 'createComment' | 'update'
>
type Client = { rest: { issues: IssuesApi } }
type Repo = { owner: string; repo: string }

/**
 * The open incident issue of an environment (labelled `devsys-incident` and the environment,
 * with DevSys's marker), if there is one: opening an incident reuses it, so an issue created
 * just before a crash is not opened twice.
 */
export async function findOpenIncident(
  github: Client,
  where: Repo,
  environment: string,
): Promise<{ number: number; url: string } | undefined> {
  const { data } = await github.rest.issues.listForRepo({
    ...where,
    state: 'open',
    labels: `${INCIDENT_LABEL},${environment}`,
    per_page: 20,
  })
  const marker = incidentMarker(environment)
  const found = data.find((i) => i.pull_request === undefined && (i.body ?? '').includes(marker))
  return found === undefined ? undefined : { number: found.number, url: found.html_url }
}

/** Whether an open issue labelled `maintenance` mutes the repository's alerts. */
export async function underMaintenance(github: Client, where: Repo): Promise<boolean> {
  const { data } = await github.rest.issues.listForRepo({
    ...where,
    state: 'open',
    labels: MAINTENANCE_LABEL,
    per_page: 1,
  })
  return data.length > 0
}

/** Opens the incident issue, labelled `devsys-incident` and the environment. */
export async function openIncidentIssue(
  github: Client,
  where: Repo,
  input: { environment: string; title: string; body: string },
): Promise<{ number: number; url: string }> {
  const { data } = await github.rest.issues.create({
    ...where,
    title: input.title,
    body: input.body,
    labels: [INCIDENT_LABEL, input.environment],
  })
  return { number: data.number, url: data.html_url }
}

/** Comments on the incident (a change, a reminder). */
export async function commentOnIncident(
  github: Client,
  where: Repo,
  issue: number,
  body: string,
): Promise<void> {
  await github.rest.issues.createComment({ ...where, issue_number: issue, body })
}

/** Comments the recovery and closes the incident as completed. */
export async function closeIncident(
  github: Client,
  where: Repo,
  issue: number,
  body: string,
): Promise<void> {
  await commentOnIncident(github, where, issue, body)
  await github.rest.issues.update({
    ...where,
    issue_number: issue,
    state: 'closed',
    state_reason: 'completed',
  })
}
