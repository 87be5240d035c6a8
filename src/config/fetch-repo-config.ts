import type { GitHubClient } from '../app-deps.js'
import { readRepoFile } from '../github/read-repo-file.js'
import type { ManifestProblem } from '../manifest/types.js'
import { parseRepoConfig, type RepoConfig } from './load-repo-config.js'

export const REPO_CONFIG_PATH = '.github/devsys.yml'
const MAX_CONFIG_BYTES = 256 * 1024

/**
 * Reads `.github/devsys.yml` from the default branch (never from a PR head or pushed branch, so
 * nobody changes DevSys's behaviour from an unmerged branch) and validates it; no file means the
 * defaults.
 */
export async function fetchRepoConfig(
  github: { rest: { repos: Pick<GitHubClient['rest']['repos'], 'getContent'> } },
  target: { owner: string; repo: string },
): Promise<{ ok: true; config: RepoConfig } | { ok: false; problems: ManifestProblem[] }> {
  const file = await readRepoFile(github, {
    ...target,
    path: REPO_CONFIG_PATH,
    maxBytes: MAX_CONFIG_BYTES,
  })
  switch (file.kind) {
    case 'missing':
      return parseRepoConfig(null, REPO_CONFIG_PATH)
    case 'found':
      return parseRepoConfig(file.text, REPO_CONFIG_PATH)
    case 'too-large':
      return {
        ok: false,
        problems: [
          wholeFileProblem(
            `${REPO_CONFIG_PATH} is ${file.size} bytes, over the ${MAX_CONFIG_BYTES}-byte limit`,
            'keep the repo config short',
          ),
        ],
      }
    case 'not-a-file':
      return {
        ok: false,
        problems: [
          wholeFileProblem(
            `${REPO_CONFIG_PATH} is a ${file.type}, not a file`,
            'make it a YAML file',
          ),
        ],
      }
  }
}

function wholeFileProblem(message: string, hint: string): ManifestProblem {
  return { pointer: '', line: 1, column: 1, endLine: 1, message, hint }
}
