import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { request } from 'node:http'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

export interface ServePhpOptions {
  /** Default: a free port chosen by the system. */
  port?: number
  host?: '127.0.0.1'
  /** The `php` executable (default `php` on PATH). */
  php?: string
  /** How long to wait for the first answer (default 10 s). */
  startTimeoutMs?: number
}

export interface PhpServe {
  url: string
  stop(): Promise<void>
}

/** PHP is not installed (or not runnable): the local target can deploy, but nothing serves it. */
export class PhpMissingError extends Error {
  constructor(php: string, cause: string) {
    super(
      `Cannot start "${php} -S" to serve the local deploy target (${cause}). Install the PHP ` +
        'command line (e.g. apt-get install php-cli) or deploy to the php or ssh target.',
    )
    this.name = 'PhpMissingError'
  }
}

/**
 * Why a router: `php -S -t <root>/current/public` resolves the docroot's realpath once at start
 * (checked with PHP 8.2: after a switch it keeps serving the old release). The router runs for
 * every request, resolves `current` afresh (with PHP's realpath cache cleared) and serves the
 * live release's `public/` (or its root), so a switch takes effect on the next request without
 * a restart. Static files are sent by the router too: returning false would make php -S serve
 * them from its cached docroot. The root comes in through the environment, never as PHP source.
 */
const ROUTER = `<?php
clearstatcache(true);
$current = getenv('DEVSYS_CURRENT');
$release = is_string($current) && $current !== '' ? realpath($current) : false;
if ($release === false) { http_response_code(503); echo "No release is live yet.\\n"; return true; }
$docroot = is_dir($release . '/public') ? realpath($release . '/public') : $release;
$path = rawurldecode((string) parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH));
$file = realpath($docroot . '/' . ltrim($path, '/'));
if ($file !== false && is_dir($file)) {
    foreach (['index.php', 'index.html'] as $index) {
        if (is_file($file . '/' . $index)) { $file = $file . '/' . $index; break; }
    }
}
if ($file === false || !is_file($file) || ($file !== $docroot && !str_starts_with($file, $docroot . '/'))) {
    http_response_code(404); header('Content-Type: text/plain'); echo "Not found\\n"; return true;
}
if (str_ends_with($file, '.php')) {
    $_SERVER['DOCUMENT_ROOT'] = $docroot;
    $_SERVER['SCRIPT_FILENAME'] = $file;
    $_SERVER['SCRIPT_NAME'] = $_SERVER['PHP_SELF'] = substr($file, strlen($docroot));
    chdir(dirname($file));
    require $file;
    return true;
}
$types = ['css' => 'text/css', 'js' => 'text/javascript', 'html' => 'text/html; charset=utf-8',
    'txt' => 'text/plain; charset=utf-8', 'json' => 'application/json', 'svg' => 'image/svg+xml',
    'png' => 'image/png', 'jpg' => 'image/jpeg', 'jpeg' => 'image/jpeg', 'gif' => 'image/gif',
    'ico' => 'image/x-icon', 'webp' => 'image/webp', 'woff2' => 'font/woff2', 'xml' => 'application/xml'];
header('Content-Type: ' . ($types[strtolower(pathinfo($file, PATHINFO_EXTENSION))] ?? 'application/octet-stream'));
header('Content-Length: ' . filesize($file));
readfile($file);
return true;
`

/**
 * Serves the local target's live release with PHP's built-in server and resolves once it
 * answers. Release switches take effect without a restart (see ROUTER).
 */
export async function servePhp(root: string, opts: ServePhpOptions = {}): Promise<PhpServe> {
  const php = opts.php ?? 'php'
  const host = opts.host ?? '127.0.0.1'
  const port = opts.port ?? (await freePort(host))
  const dir = await mkdtemp(join(tmpdir(), 'devsys-serve-'))
  await writeFile(join(dir, 'router.php'), ROUTER)
  const child = spawn(php, ['-S', `${host}:${port}`, '-t', dir, join(dir, 'router.php')], {
    cwd: dir,
    // The deployed code runs in this process: it gets nothing of DevSys's own environment
    // (private key, webhook secret, API token), only where the live release is.
    env: {
      PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
      LANG: 'C.UTF-8',
      DEVSYS_CURRENT: join(resolve(root), 'current'),
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => {
    // Kept only for the start-up error message; php -S logs every request here.
    if (stderr.length < 4096) stderr += chunk.toString('utf8')
  })
  const spawnError = new Promise<Error>((done) => child.once('error', done))
  const stop = async () => {
    await stopChild(child)
    await rm(dir, { recursive: true, force: true })
  }
  const url = `http://${host}:${port}`
  const deadline = Date.now() + (opts.startTimeoutMs ?? 10_000)
  for (;;) {
    const failed = await Promise.race([
      spawnError,
      ping(url).then(
        () => null,
        () => undefined,
      ),
    ])
    if (failed === null) return { url, stop }
    if (failed instanceof Error) {
      await rm(dir, { recursive: true, force: true })
      const code = (failed as { code?: unknown }).code
      throw new PhpMissingError(php, code === 'ENOENT' ? 'not found on PATH' : failed.message)
    }
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop()
      throw new Error(
        `php -S did not answer on ${url} (exit ${String(child.exitCode)}): ${stderr.trim() || 'no output'}`,
      )
    }
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** Any HTTP answer (even a 503 before the first release) means the server is up. */
function ping(url: string): Promise<void> {
  return new Promise((ok, fail) => {
    const req = request(`${url}/`, { method: 'HEAD', timeout: 1000 }, (res) => {
      res.resume()
      ok()
    })
    req.on('timeout', () => req.destroy(new Error('timeout')))
    req.on('error', fail)
    req.end()
  })
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) {
    return Promise.resolve()
  }
  return new Promise((done) => {
    child.once('exit', () => done())
    child.kill('SIGTERM')
  })
}

function freePort(host: string): Promise<number> {
  return new Promise((ok, fail) => {
    const probe = createServer()
    probe.once('error', fail)
    probe.listen(0, host, () => {
      const address = probe.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      probe.close(() => ok(port))
    })
  })
}
