import { execFile } from 'node:child_process'
import { readFileSync, realpathSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import type { AgentName } from '../../config/load-repo-config.js'

/** Where one agent's native program is, and the package folder the sandbox must show. */
export interface AgentBinary {
  agent: AgentName
  /** The native executable (not the npm launcher script). */
  program: string
  /** Its npm package folder, shown read-only in the sandbox. */
  packageDir: string
  /** The version DevSys's package.json pins. */
  pinned: string
}

const require = createRequire(import.meta.url)

/** npm package (DevSys's dependency) and the platform package holding the native binary. */
const PACKAGES: Record<AgentName, { npm: string; native: () => string; program: string }> = {
  // opencode's launcher package (opencode-ai) lists platform packages this registry does not
  // all serve, which breaks `npm ci`; DevSys depends on the Linux x64 binary package directly.
  opencode: {
    npm: 'opencode-linux-x64',
    native: () => `opencode-linux-${process.arch}`,
    program: 'bin/opencode',
  },
  codex: {
    npm: '@openai/codex',
    native: () => `@openai/codex-linux-${process.arch}`,
    program: `vendor/${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-unknown-linux-musl/bin/codex`,
  },
}

/**
 * Locates the agent's native binary among DevSys's own npm dependencies. Throws (with what to
 * do) when the platform package is missing: on other platforms than Linux, or after an install
 * that skipped optional dependencies.
 */
export function findAgentBinary(agent: AgentName): AgentBinary {
  const pkg = PACKAGES[agent]
  let packageDir: string
  try {
    packageDir = realpathSync(dirname(require.resolve(`${pkg.native()}/package.json`)))
  } catch {
    throw new Error(
      `the ${agent} binary (npm package ${pkg.native()}) is not installed; run \`npm ci\` in DevSys's folder on a Linux x64 host`,
    )
  }
  return {
    agent,
    program: join(packageDir, pkg.program),
    packageDir,
    pinned: pinnedVersion(pkg.npm),
  }
}

function pinnedVersion(npm: string): string {
  const manifest = JSON.parse(
    readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'),
  ) as { dependencies?: Record<string, string>; optionalDependencies?: Record<string, string> }
  return manifest.dependencies?.[npm] ?? manifest.optionalDependencies?.[npm] ?? 'unknown'
}

export type AgentVersionCheck =
  | { agent: AgentName; ok: true; version: string }
  | { agent: AgentName; ok: false; message: string }

/**
 * Runs `<agent> --version` and compares it with the version DevSys pins: the presets build
 * flags and config files for exactly that version, so another one is refused at start.
 */
export async function checkAgentVersion(agent: AgentName): Promise<AgentVersionCheck> {
  let binary: AgentBinary
  try {
    binary = findAgentBinary(agent)
  } catch (error) {
    return { agent, ok: false, message: (error as Error).message }
  }
  const output = await new Promise<string | Error>((resolve) => {
    execFile(binary.program, ['--version'], { timeout: 20_000, env: versionEnv() }, (err, out) =>
      resolve(err ?? out),
    )
  })
  if (output instanceof Error) {
    return {
      agent,
      ok: false,
      message: `${binary.program} --version failed (${output.message.split('\n')[0]}); reinstall DevSys's dependencies with \`npm ci\``,
    }
  }
  const version = /(\d+\.\d+\.\d+\S*)/.exec(output)?.[1] ?? output.trim()
  if (version !== binary.pinned) {
    return {
      agent,
      ok: false,
      message: `${agent} is version ${version}, but DevSys is built for ${binary.pinned}; run \`npm ci\` in DevSys's folder to install the pinned version`,
    }
  }
  return { agent, ok: true, version }
}

/** A minimal environment: no keys, no auto-update, no telemetry. */
function versionEnv(): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: '/nonexistent',
    OPENCODE_DISABLE_AUTOUPDATE: '1',
    npm_config_registry: 'http://127.0.0.1:9/',
  }
}
