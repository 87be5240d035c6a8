import { ConfigError, startDevsys } from './boot.js'

/** `npm start`: runs DevSys with configuration from the environment (and .env, if present). */
async function main(): Promise<void> {
  try {
    process.loadEnvFile?.()
  } catch {
    // No .env file: the environment alone configures DevSys.
  }
  try {
    const devsys = await startDevsys({ env: process.env })
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, () => {
        devsys.stop().then(
          () => process.exit(0),
          () => process.exit(1),
        )
      })
    }
  } catch (error) {
    const message =
      error instanceof ConfigError
        ? error.message
        : `DevSys failed to start: ${(error as Error).stack}`
    process.stderr.write(`${message}\n`)
    process.exit(1)
  }
}

await main()
