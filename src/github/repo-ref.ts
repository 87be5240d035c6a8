/**
 * A repository as DevSys's jobs know it: enough to reach it on GitHub (owner, name), to clone
 * and push (cloneUrl), to branch from (defaultBranch) and to link to (htmlUrl). Every job
 * payload carries one, made from GitHub's `repository` by repoRefFrom.
 */
export interface RepoRef {
  /** The owner's login, as the REST API wants it. */
  owner: string
  /** The repository's name without its owner. */
  name: string
  /** 'owner/name', used for task sources, job keys, the mirror cache path and locks. */
  fullName: string
  /** The clone URL as GitHub reports it in payloads (https://…, or a local path in tests). */
  cloneUrl: string
  defaultBranch: string
  /** The repository's web address (GHE-safe: its host names the GitHub instance). */
  htmlUrl: string
}

/**
 * The fields a RepoRef is made of, in GitHub's `repository` object: the same in every webhook
 * payload DevSys acts on and in the repos API's answer (GET /repos/{owner}/{repo}).
 */
export interface GitHubRepository {
  /** Missing from the repository of some push deliveries. */
  owner?: { login: string } | null | undefined
  name: string
  full_name: string
  clone_url: string
  default_branch?: string | undefined
  /** What old push deliveries call the default branch. */
  master_branch?: string | undefined
  html_url: string
}

/**
 * The RepoRef of GitHub's `repository` (a webhook's, or the repos API's). A push payload's
 * repository may lack its owner and names its default branch `master_branch` in old deliveries:
 * both are filled in here, once.
 */
export function repoRefFrom(repository: GitHubRepository): RepoRef {
  return {
    owner: repository.owner?.login ?? repository.full_name.split('/')[0] ?? '',
    name: repository.name,
    fullName: repository.full_name,
    cloneUrl: repository.clone_url,
    defaultBranch: repository.default_branch ?? repository.master_branch ?? 'main',
    htmlUrl: repository.html_url,
  }
}

/** The repository fields of job payloads queued before they carried a RepoRef (flat). */
interface FlatRepoFields {
  owner: string
  /** The name, in those payloads. */
  repo: string
  fullName: string
  cloneUrl: string
  defaultBranch: string
  htmlUrl: string
}

/** A payload as stored: `P`, or the flat shape an earlier DevSys queued (still in the job table). */
export type StoredPayload<P extends { repo: RepoRef }> = P | (Omit<P, 'repo'> & FlatRepoFields)

/**
 * Reads a stored payload whose repository may be in the earlier flat shape (owner, repo,
 * fullName, … at the top): jobs queued by the previous version still run after an upgrade.
 */
export function withRepoRef<P extends { repo: RepoRef }>(stored: StoredPayload<P>): P {
  if (typeof stored.repo === 'object') return stored as P
  const { owner, repo, fullName, cloneUrl, defaultBranch, htmlUrl, ...rest } = stored as Omit<
    P,
    'repo'
  > &
    FlatRepoFields
  return {
    ...rest,
    repo: { owner, name: repo, fullName, cloneUrl, defaultBranch, htmlUrl },
  } as unknown as P
}
