import type { GitHubClient } from '../app-deps.js'

/** GitHub repository roles, weakest first. */
export const ROLES = ['none', 'read', 'triage', 'write', 'maintain', 'admin'] as const
export type Role = (typeof ROLES)[number]

type ReposApi = Pick<GitHubClient['rest']['repos'], 'getCollaboratorPermissionLevel'>

/** Reads `user`'s role on the repository ('none' when they are not a collaborator). */
export async function getRole(
  github: { rest: { repos: ReposApi } },
  target: { owner: string; repo: string; user: string },
): Promise<Role> {
  try {
    const { data } = await github.rest.repos.getCollaboratorPermissionLevel({
      owner: target.owner,
      repo: target.repo,
      username: target.user,
    })
    const role = (data.role_name ?? data.permission) as string
    return (ROLES as readonly string[]).includes(role) ? (role as Role) : 'none'
  } catch (error) {
    if (typeof error === 'object' && error !== null && 'status' in error && error.status === 404) {
      return 'none'
    }
    throw error
  }
}

/** True when `role` is at least `required`. */
export function hasRole(role: Role, required: Role): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(required)
}
