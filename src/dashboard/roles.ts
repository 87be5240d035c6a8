import type { GitHubAuth } from '../app-deps.js'
import { getRole, type Role } from '../github/check-permission.js'

/** What a person may do in the dashboard on one repository. */
export type DashboardRole = 'none' | 'viewer' | 'operator' | 'admin'
const ORDER: DashboardRole[] = ['none', 'viewer', 'operator', 'admin']

/** GitHub's repository permission, as a dashboard role: read → viewer, write → operator, admin → admin. */
export function dashboardRole(role: Role): DashboardRole {
  switch (role) {
    case 'admin':
      return 'admin'
    case 'write':
    case 'maintain':
      return 'operator'
    case 'read':
    case 'triage':
      return 'viewer'
    default:
      return 'none'
  }
}

/** True when `role` is at least `required`. */
export function atLeast(role: DashboardRole, required: DashboardRole): boolean {
  return ORDER.indexOf(role) >= ORDER.indexOf(required)
}

export interface RoleChecker {
  /**
   * The person's role on `repo` ('owner/name'). `fresh` asks GitHub now (every action does);
   * otherwise an answer up to `viewTtlMs` old may serve a page view.
   */
  roleOf(login: string, repo: string, opts?: { fresh?: boolean }): Promise<DashboardRole>
}

/**
 * Reads roles from GitHub with the App's own credentials: which installation holds the
 * repository (GET /repos/{owner}/{repo}/installation, as the App), then the person's permission
 * there (GET /repos/{owner}/{repo}/collaborators/{username}/permission, as the installation).
 * A repository the App is not installed on gives no role.
 */
export function createRoleChecker(opts: {
  auth: GitHubAuth
  viewTtlMs?: number
  now?: () => number
}): RoleChecker {
  const viewTtlMs = opts.viewTtlMs ?? 60_000
  const now = opts.now ?? Date.now
  const seen = new Map<string, { role: DashboardRole; at: number }>()
  const installations = new Map<string, { id: number | null; at: number }>()

  const installationOf = async (owner: string, repo: string): Promise<number | null> => {
    const cached = installations.get(`${owner}/${repo}`)
    if (cached !== undefined && now() - cached.at < 10 * 60_000) return cached.id
    const app = await opts.auth()
    let id: number | null
    try {
      id = (await app.rest.apps.getRepoInstallation({ owner, repo })).data.id
    } catch (error) {
      if (!(typeof error === 'object' && error !== null && 'status' in error)) throw error
      if (error.status !== 404) throw error
      id = null
    }
    installations.set(`${owner}/${repo}`, { id, at: now() })
    return id
  }

  return {
    async roleOf(login, repo, { fresh = false } = {}) {
      const key = `${login}\n${repo}`
      const cached = seen.get(key)
      if (!fresh && cached !== undefined && now() - cached.at < viewTtlMs) return cached.role
      const [owner = '', name = ''] = repo.split('/')
      const installation = await installationOf(owner, name)
      const role =
        installation === null
          ? 'none'
          : dashboardRole(
              await getRole(await opts.auth(installation), { owner, repo: name, user: login }),
            )
      seen.set(key, { role, at: now() })
      return role
    },
  }
}
