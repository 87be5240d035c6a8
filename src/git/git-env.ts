import { type SimpleGit, type SimpleGitOptions, simpleGit } from 'simple-git'
import type { GitAuth } from './types.js'

/**
 * Variables git may legitimately need from DevSys's own environment: where programs and the
 * home directory are, and how to reach GitHub (proxies, extra CA certificates). Everything else
 * is left out so that a stray GIT_DIR, GIT_ASKPASS, GIT_SSH_COMMAND or credential variable of
 * the DevSys process can never change what git does or leak into a job.
 */
const PASSED_THROUGH = [
  'PATH',
  'HOME',
  'TMPDIR',
  'SYSTEMROOT',
  'HTTPS_PROXY',
  'https_proxy',
  'HTTP_PROXY',
  'http_proxy',
  'NO_PROXY',
  'no_proxy',
  'ALL_PROXY',
  'all_proxy',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'GIT_SSL_CAINFO',
] as const

/** A clean, minimal environment for one git command, plus `extra`. */
export function gitEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {}
  for (const name of PASSED_THROUGH) {
    const value = process.env[name]
    if (value !== undefined) env[name] = value
  }
  return {
    ...env,
    // Never wait for a password on a terminal nobody watches: fail instead.
    GIT_TERMINAL_PROMPT: '0',
    GCM_INTERACTIVE: 'never',
    // English messages, so push rejections can be recognised.
    LC_ALL: 'C',
    // No global (~/.gitconfig, ~/.config/git) or system config: a credential helper, askpass
    // program, url rewrite or template of the machine or user DevSys runs as could answer GitHub
    // with other credentials or run code. CA certificates and proxies come from the variables above.
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_CONFIG_NOSYSTEM: '1',
    ...extra,
  }
}

function basicCredentials(auth: GitAuth): string {
  return Buffer.from(`x-access-token:${auth.token}`, 'utf8').toString('base64')
}

/** Every form in which a token could show up in git's output, for scrubbing messages. */
export function authSecrets(auth: GitAuth | undefined): string[] {
  if (!auth) return []
  return [auth.token, basicCredentials(auth), Buffer.from(auth.token).toString('base64')]
}

/**
 * Environment variables that make git send the installation token as an HTTP header, the way
 * actions/checkout does, without ever writing it to a config file or a remote URL. The header is
 * scoped to the clone URL's origin, so git sends it to GitHub only. Local paths (tests) need none.
 */
export function authEnv(cloneUrl: string, auth: GitAuth | undefined): Record<string, string> {
  if (!auth || !/^https?:\/\//i.test(cloneUrl)) return {}
  const origin = new URL(cloneUrl).origin
  return {
    GIT_CONFIG_COUNT: '1',
    GIT_CONFIG_KEY_0: `http.${origin}/.extraheader`,
    GIT_CONFIG_VALUE_0: `AUTHORIZATION: basic ${basicCredentials(auth)}`,
  }
}

/**
 * simple-git bound to `dir` with exactly `env` as the environment, for every git command DevSys
 * runs (and the ones a job runs through `Workspace.git`).
 *
 * - Any non-zero exit fails the command. simple-git on its own resolves when git exits non-zero
 *   with nothing on stderr (`merge-base --is-ancestor`, a failing hook), which would read as success.
 * - `core.hooksPath=/dev/null`: no hook ever runs, so nothing in a repository or in the machine's
 *   template directory can execute code or see the token in the environment. simple-git refuses
 *   core.hooksPath unless allowed; the value here is DevSys's own constant.
 * - GIT_CONFIG_COUNT is allowed only when DevSys built that environment itself (authEnv); the
 *   key it sets is still checked by simple-git against its list of keys that run programs.
 *   GIT_CONFIG_GLOBAL is allowed only as gitEnv sets it, to /dev/null.
 *
 * Note: simple-git's debug output (DEBUG=simple-git*) prints each command's environment, which
 * holds the token; createGitWorkspaces warns when that is switched on.
 */
export function openGit(
  dir: string,
  env: Record<string, string>,
  signal?: AbortSignal,
  config: string[] = [],
): SimpleGit {
  const options: Partial<SimpleGitOptions> = {
    baseDir: dir,
    config: ['core.hooksPath=/dev/null', ...config],
    unsafe: {
      allowUnsafeConfigEnvCount: 'GIT_CONFIG_COUNT' in env,
      allowUnsafeConfigPaths: env.GIT_CONFIG_GLOBAL === '/dev/null',
      allowUnsafeHooksPath: true,
    },
    errors(error, result) {
      if (error || result.exitCode === 0) return error
      return Buffer.concat([
        ...result.stdOut,
        ...result.stdErr,
        Buffer.from(`git exited with code ${result.exitCode}`),
      ])
    },
  }
  if (signal) options.abort = signal
  return simpleGit(options).env(env)
}
