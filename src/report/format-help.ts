/** The `/help` answer: every command DevSys understands on a pull request, and what it does now. */
export function formatHelp(available: ReadonlySet<string>): string {
  const rows = [
    [
      '/revise <what to change>',
      'regenerate the task’s code with your feedback and push a new commit',
      'revise',
    ],
    ['/test', 'run the task’s tests again and report them as the `DevSys / tests` check', 'test'],
    [
      '/deploy [environment] [--dry-run]',
      'deploy the PR’s head commit to an environment (default: the manifest’s, else production), or with `--dry-run` list the files it would add, change and remove',
      'deploy',
    ],
    [
      '/rollback',
      'on a merged PR: switch back to the release that was live before it, and revert the merge on the default branch',
      'rollback',
    ],
    ['/help', 'this list', 'help'],
  ] as const
  return [
    '### DevSys commands',
    '',
    'Comment one of these on a DevSys pull request (the command on the first line):',
    '',
    '| command | what it does |',
    '| --- | --- |',
    ...rows.map(
      ([usage, what, name]) =>
        `| \`${usage}\` | ${what}${available.has(name) ? '' : ' — *not available in this DevSys version yet*'} |`,
    ),
    '',
    'Commands other than `/help` need write permission on the repository (see `permissions` in `.github/devsys.yml`).',
  ].join('\n')
}
