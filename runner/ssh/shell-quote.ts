/**
 * POSIX shell quoting for the few command lines the SSH runner sends. Every value goes between
 * single quotes, inside which a POSIX shell gives no character a meaning (`$`, backquotes, `;`,
 * `|`, `*`, newlines, backslashes are all literal); a single quote itself is written as `'\''`
 * (close, escaped quote, reopen). So `$(touch /tmp/pwned)` or `; rm -rf ~` arrive as those
 * exact bytes. NUL cannot be passed in an argument at all and is refused.
 */
export function quote(value: string): string {
  if (value.includes('\0')) throw new Error('a shell argument cannot contain a NUL byte')
  return `'${value.replaceAll("'", `'\\''`)}'`
}

/** Environment names a shell and `env` accept as assignments. */
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

/** Throws for a variable name `env` would not take as an assignment. */
export function checkEnvNames(env: Record<string, string>): void {
  for (const name of Object.keys(env)) {
    if (!ENV_NAME.test(name)) {
      throw new Error(`invalid environment variable name ${JSON.stringify(name)}`)
    }
  }
}

/**
 * The remote command line of a test run: record the shell's pid (the process group the runner
 * kills on timeout; sshd makes each session's shell a group leader), go to the work folder and
 * replace the shell by `env -i` with only the given variables, which runs the argv through
 * `sh -c 'exec "$@"'` so that even a first argument like `A=B` is taken as the program name.
 * The remote PATH is kept (it names programs, not secrets).
 */
export function buildRunCommand(
  argv: readonly string[],
  paths: { pidFile: string; workDir: string },
  env: Record<string, string>,
): string {
  if (argv.length === 0) throw new Error('the test command is empty')
  checkEnvNames(env)
  const assignments = Object.entries(env).map(([name, value]) => quote(`${name}=${value}`))
  return [
    `echo "$$" > ${quote(paths.pidFile)} &&`,
    `cd ${quote(paths.workDir)} &&`,
    'exec env -i "PATH=$PATH"',
    ...assignments,
    `sh -c 'exec "$@"' sh`,
    ...argv.map(quote),
  ].join(' ')
}

/** Signals the process group whose leader's pid is in `pidFile` (absent file: nothing). */
export function buildKillCommand(pidFile: string, signal: 'TERM' | 'KILL'): string {
  return `p=$(cat ${quote(pidFile)} 2>/dev/null) && [ -n "$p" ] && kill -${signal} -- "-$p" 2>/dev/null; true`
}
