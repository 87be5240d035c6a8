import { type ChildProcess, spawn } from 'node:child_process'
import { createHmac, randomBytes } from 'node:crypto'
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { request } from 'node:http'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { SANDBOX_PATH, sandboxArgv } from '../../runner/sandbox/bwrap.js'
import { killSandbox } from '../../runner/sandbox/kill-sandbox.js'
import { probeSandbox } from '../../runner/sandbox/probe-sandbox.js'
import { DEFAULT_SANDBOX, type SandboxSettings } from '../../runner/sandbox/sandbox-settings.js'

export interface ServePhpOptions {
  /** Default: a free port chosen by the system. */
  port?: number
  host?: '127.0.0.1'
  /** The `php` executable (default `php` on PATH). */
  php?: string
  /** How long to wait for the first answer (default 10 s). */
  startTimeoutMs?: number
  /** Where the deployed code runs; default the sandbox with default limits. */
  sandbox?: SandboxSettings
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
$probe = $_SERVER['HTTP_X_DEVSYS_PROBE'] ?? '';
if (is_string($probe) && $probe !== '') {
    header('X-DevSys-Proof: ' . hash_hmac('sha256', $probe, (string) getenv('DEVSYS_NONCE')));
}
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
 *
 * The deployed code is the repository's: php -S runs in the sandbox (runner/sandbox), as the
 * sandbox user, seeing the system read-only, its own deploy root read-only and only the
 * root's `shared/` writable, with the host's network so that it can be reached. It dies with
 * DevSys. DevSys believes an answer on the port only when it proves knowledge of a nonce given
 * to this very process, so a server someone else started on that port is never taken for it.
 */
export async function servePhp(root: string, opts: ServePhpOptions = {}): Promise<PhpServe> {
  const php = opts.php ?? 'php'
  const host = opts.host ?? '127.0.0.1'
  const sandbox = opts.sandbox ?? DEFAULT_SANDBOX
  if (sandbox.enabled) {
    const probe = await probeSandbox(sandbox)
    if (!probe.ok) throw new Error(probe.message)
  }
  const port = opts.port ?? (await freePort(host))
  const dir = await mkdtemp(join(tmpdir(), 'devsys-serve-'))
  await chmod(dir, 0o755)
  await writeFile(join(dir, 'router.php'), ROUTER, { mode: 0o644 })
  const nonce = randomBytes(32).toString('hex')
  const phpArgv = [php, '-S', `${host}:${port}`, '-t', dir, join(dir, 'router.php')]
  // The deployed code runs in this process: it gets nothing of DevSys's own environment
  // (private key, webhook secret, API token), only where the live release is.
  const env = {
    PATH: SANDBOX_PATH,
    LANG: 'C.UTF-8',
    DEVSYS_CURRENT: join(resolve(root), 'current'),
    DEVSYS_NONCE: nonce,
  }
  const [command = php, ...args] = sandbox.enabled
    ? await confined(phpArgv, root, dir, env, sandbox)
    : phpArgv
  const child = spawn(command, args, {
    cwd: dir,
    env: sandbox.enabled
      ? { PATH: SANDBOX_PATH }
      : { ...env, PATH: process.env.PATH ?? SANDBOX_PATH },
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => {
    // Kept only for the start-up error message; php -S logs every request here.
    if (stderr.length < 4096) stderr += chunk.toString('utf8')
  })
  const spawnError = new Promise<Error>((done) => child.once('error', done))
  const stop = async () => {
    await stopChild(child, sandbox.enabled)
    await rm(dir, { recursive: true, force: true })
  }
  const url = `http://${host}:${port}`
  const deadline = Date.now() + (opts.startTimeoutMs ?? 10_000)
  for (;;) {
    const failed = await Promise.race([
      spawnError,
      ping(url, nonce).then(
        (ours) => (ours ? null : undefined),
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
      if (
        sandbox.enabled &&
        /execvp|No such file/.test(stderr) &&
        !/Failed to listen/.test(stderr)
      ) {
        throw new PhpMissingError(php, 'not found on PATH')
      }
      throw new Error(
        `php -S did not answer on ${url} (exit ${String(child.exitCode)}): ${stderr.trim() || 'no output'}`,
      )
    }
    await new Promise((r) => setTimeout(r, 50))
  }
}

/**
 * php -S in the sandbox: the router's folder and the deploy root read-only, only `shared/`
 * writable (uploads), the host's network so that it can be reached.
 */
async function confined(
  phpArgv: string[],
  root: string,
  dir: string,
  env: Record<string, string>,
  sandbox: SandboxSettings,
): Promise<string[]> {
  const deployRoot = resolve(root)
  await mkdir(join(deployRoot, 'shared'), { recursive: true })
  // The site runs as the sandbox user, who must be able to enter the deploy root.
  await chmod(deployRoot, 0o755)
  return sandboxArgv(sandbox, {
    argv: phpArgv,
    cwd: dir,
    env,
    mounts: [
      { host: dir },
      { host: deployRoot },
      { host: join(deployRoot, 'shared'), writable: true },
    ],
    network: 'host',
  })
}

/**
 * Whether our own php -S answers: any HTTP answer (even a 503 before the first release) that
 * carries the HMAC of a fresh challenge under this server's nonce.
 */
function ping(url: string, nonce: string): Promise<boolean> {
  const challenge = randomBytes(16).toString('hex')
  const proof = createHmac('sha256', nonce).update(challenge).digest('hex')
  return new Promise((ok, fail) => {
    const req = request(
      `${url}/`,
      { method: 'HEAD', timeout: 1000, headers: { 'x-devsys-probe': challenge } },
      (res) => {
        res.resume()
        ok(res.headers['x-devsys-proof'] === proof)
      },
    )
    req.on('timeout', () => req.destroy(new Error('timeout')))
    req.on('error', fail)
    req.end()
  })
}

/**
 * Stops php -S and resolves once it is gone. In the sandbox the child is bubblewrap, which
 * exits before the kernel has ended php (its --die-with-parent SIGKILL): waiting for `close`,
 * when php's end of the stderr pipe is closed too, means its listening socket is closed as
 * well, so a request after stop() is refused rather than reset.
 */
function stopChild(child: ChildProcess, sandboxed: boolean): Promise<void> {
  const closed = new Promise<void>((done) => {
    if (child.stderr === null || child.stderr.closed) done()
    else child.once('close', () => done())
  })
  if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
    if (sandboxed) void killSandbox(child.pid)
    else child.kill('SIGTERM')
  }
  // Bounded: a php that escaped the pipe must not hang DevSys's shutdown.
  return Promise.race([closed, new Promise<void>((done) => setTimeout(done, 5000).unref())])
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
