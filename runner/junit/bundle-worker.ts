import { fileURLToPath } from 'node:url'

let bundled: Promise<string | undefined> | undefined

/**
 * The parsing worker's body (junit-worker-main.ts) with the parser and fast-xml-parser, bundled by
 * esbuild into one CommonJS script, once per process, for a worker started with `eval`. Run from
 * source, a worker would otherwise load them through its own tsx loader: about 30 MiB more of the
 * app's memory during every parse, at the peak (a 200 MiB report in hand). Undefined when esbuild
 * cannot bundle it: the worker then loads the source through tsx.
 */
export function bundleParsingWorker(): Promise<string | undefined> {
  bundled ??= build().catch(() => undefined)
  return bundled
}

async function build(): Promise<string | undefined> {
  // esbuild comes with tsx, which runs DevSys from source.
  const esbuild = await import('esbuild')
  const result = await esbuild.build({
    entryPoints: [fileURLToPath(new URL('./junit-worker-main.ts', import.meta.url))],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    write: false,
    logLevel: 'silent',
  })
  return result.outputFiles[0]?.text
}
