/**
 * Shorter values are not redacted: replacing every "secret" or "12345" in test output would
 * mangle ordinary text, and a secret that short is guessable anyway (boot warns about it).
 */
export const MIN_SECRET_LENGTH = 8

const PEM_LINE = /^-----(BEGIN|END) [A-Z0-9 ]+-----$/

/**
 * Every form in which `value` may show up in text DevSys writes: as is, JSON-escaped (log lines,
 * stored JSON), URL-encoded, base64 and base64url (HTTP basic credentials, a PRIVATE_KEY given
 * base64-encoded). A PEM key also yields each line of its body and the body joined, because
 * output that wraps, indents or quotes the key still carries whole lines of it.
 */
export function secretForms(value: string): string[] {
  const forms = new Set<string>()
  const add = (form: string): void => {
    if (form.length >= MIN_SECRET_LENGTH) forms.add(form)
  }
  if (value.length < MIN_SECRET_LENGTH) return []
  add(value)
  add(JSON.stringify(value).slice(1, -1))
  add(encodeURIComponent(value))
  add(stripPadding(Buffer.from(value, 'utf8').toString('base64')))
  add(Buffer.from(value, 'utf8').toString('base64url'))
  const lines = value.split(/\r?\n/).map((line) => line.trim())
  if (lines.some((line) => PEM_LINE.test(line))) {
    const body = lines.filter((line) => line !== '' && !PEM_LINE.test(line) && !line.includes(':'))
    for (const line of body) {
      add(line)
      add(encodeURIComponent(line))
    }
    add(body.join(''))
  }
  return [...forms]
}

/** `abc=` is matched as `abc`, so the padded and the unpadded encoding are both caught. */
function stripPadding(base64: string): string {
  return base64.replace(/=+$/, '')
}
