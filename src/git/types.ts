/** Where a task's repository lives and how to reach it. */
export interface RepoRef {
  /** 'owner/name', used for the mirror cache path and locks. */
  fullName: string
  /** The clone URL as GitHub reports it in payloads (https://…, or a local path in tests). */
  cloneUrl: string
  defaultBranch: string
}

/** Who the commit is by: the app's bot, with the requester credited in a trailer. */
export interface CommitIdentity {
  name: string
  email: string
  /** `Co-authored-by: Name <email>` trailers to add, e.g. the requester. */
  coAuthors: Array<{ name: string; email: string }>
}

/** Credentials for one git operation, kept out of .git/config, logs, errors and the store. */
export interface GitAuth {
  /** Installation access token, sent as an HTTP Authorization header through the environment. */
  token: string
}
