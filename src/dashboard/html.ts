import { escapeHtml } from '../escape-html.js'

/** A piece of HTML that is already safe: markup DevSys wrote, with every value escaped. */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text
  }
}

type Value = Html | string | number | boolean | null | undefined | Value[]

function render(value: Value): string {
  if (value === null || value === undefined || value === false) return ''
  if (value instanceof Html) return value.text
  if (Array.isArray(value)) return value.map(render).join('')
  return escapeHtml(String(value))
}

/**
 * The only way pages are written: every interpolated value is escaped unless it is already
 * `Html` (made by this tag), so text from GitHub, manifests or errors can never become markup.
 */
export function html(strings: TemplateStringsArray, ...values: Value[]): Html {
  let text = strings[0] ?? ''
  for (const [i, value] of values.entries()) text += render(value) + (strings[i + 1] ?? '')
  return new Html(text)
}

/** A link to a dashboard page with query parameters, e.g. href('/dashboard/env', { repo }). */
export function href(path: string, query: Record<string, string | number> = {}): string {
  const params = new URLSearchParams(
    Object.entries(query).map(([k, v]) => [k, String(v)] as [string, string]),
  ).toString()
  return params === '' ? path : `${path}?${params}`
}

/** `url` when it is an http(s) URL, else '#': links from stored records never run script. */
export function safeUrl(url: string): string {
  return /^https?:\/\//i.test(url) ? url : '#'
}

/** A time as people read it in a table: `2026-12-02 16:20 UTC`, with the full time on hover. */
export function when(iso: string | null): Html {
  if (iso === null) return html`<span class="muted">—</span>`
  const short = `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`
  return html`<time datetime="${iso}" title="${iso}">${short}</time>`
}

/** The first 7 characters of a commit or tree id, in monospace. */
export function shortId(id: string | null): Html {
  return id === null ? html`<span class="muted">—</span>` : html`<code>${id.slice(0, 7)}</code>`
}

export interface Layout {
  title: string
  /** Who is signed in, shown with the sign-out form; undefined on the sign-in page. */
  user?: { name: string; csrf: string | undefined }
  /** The page refreshes its <main> when DevSys announces a change (Server-Sent Events). */
  live?: boolean
}

/**
 * The page around every dashboard view: one stylesheet and one script, both DevSys's own files
 * (the Content-Security-Policy allows nothing inline), a navigation bar, and the sign-out form.
 */
export function layout(opts: Layout, body: Html): Html {
  const signOut =
    opts.user === undefined
      ? ''
      : html`<span class="who">${opts.user.name}</span>${
          opts.user.csrf === undefined
            ? ''
            : html`<form method="post" action="/dashboard/sign-out" class="inline">
                <input type="hidden" name="csrf" value="${opts.user.csrf}">
                <button type="submit" class="link">Sign out</button>
              </form>`
        }`
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${opts.title} · DevSys</title>
<link rel="stylesheet" href="/dashboard/static/dashboard.css">
<script src="/dashboard/static/live.js" defer></script>
</head>
<body>
<header>
  <nav>
    <a href="/dashboard" class="brand">DevSys</a>
    <a href="/dashboard">Environments</a>
    <a href="/dashboard/queue">Queue</a>
  </nav>
  <div class="account">${signOut}</div>
</header>
<main id="live"${opts.live ? html` data-live="/dashboard/events"` : ''}>
<h1>${opts.title}</h1>
${body}
</main>
</body>
</html>
`
}
