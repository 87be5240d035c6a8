import type { GitHubClient } from '../app-deps.js'
import type { CommitIdentity } from '../git/types.js'

export interface BotIdentity {
  name: string
  email: string
}

let cached: Promise<{ slug: string; id: number }> | undefined

/**
 * The app's bot user, as GitHub shows it on commits: `<slug>[bot]` with the noreply address
 * GitHub links to the app. Read once per process (the app's slug and bot id never change).
 * `/app` needs the app's own token; the bot user is read with an installation's token.
 */
export async function getBotIdentity(
  clients: {
    /** The app-authenticated client, asked for only when the identity is not known yet. */
    app: () => Promise<{ rest: { apps: Pick<GitHubClient['rest']['apps'], 'getAuthenticated'> } }>
    installation: { rest: { users: Pick<GitHubClient['rest']['users'], 'getByUsername'> } }
  },
  webHost: string,
): Promise<BotIdentity> {
  cached ??= (async () => {
    const { data: app } = await (await clients.app()).rest.apps.getAuthenticated()
    const slug = app?.slug ?? 'devsys'
    const { data: user } = await clients.installation.rest.users.getByUsername({
      username: `${slug}[bot]`,
    })
    return { slug, id: user.id }
  })()
  try {
    const { slug, id } = await cached
    return { name: `${slug}[bot]`, email: `${id}+${slug}[bot]@users.noreply.${webHost}` }
  } catch (error) {
    cached = undefined // a failed lookup is retried next time
    throw error
  }
}

/** Forgets the cached bot user (tests start each app afresh). */
export function resetBotIdentity(): void {
  cached = undefined
}

/** The commit identity: the bot as author, the requester credited with a Co-authored-by trailer. */
export function commitIdentity(
  bot: BotIdentity,
  requester: { login: string; id?: number | undefined } | undefined,
  webHost: string,
): CommitIdentity {
  const coAuthors =
    requester && !requester.login.endsWith('[bot]')
      ? [
          {
            name: requester.login,
            email:
              requester.id === undefined
                ? `${requester.login}@users.noreply.${webHost}`
                : `${requester.id}+${requester.login}@users.noreply.${webHost}`,
          },
        ]
      : []
  return { name: bot.name, email: bot.email, coAuthors }
}
