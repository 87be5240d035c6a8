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
    // The first signal stops gracefully (devsys.stop logs each phase); a second one, from an
    // operator who will not wait, exits at once: unfinished jobs are then recovered from their
    // leases by the next worker.
    let stopping = false
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.on(signal, () => {
        if (stopping) {
          process.stderr.write(`${signal} again: exiting without waiting for running jobs\n`)
          process.exit(1)
        }
        stopping = true
        devsys.stop().then(
          () => process.exit(0),
          (error: unknown) => {
            process.stderr.write(`DevSys failed to stop cleanly: ${(error as Error).stack}\n`)
            process.exit(1)
          },
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
