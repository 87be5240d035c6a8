/**
 * Removes anything shaped like a GitHub token or a private key from text shown to users or
 * stored, as a last line of defence: DevSys never puts secrets in messages on purpose.
 */
export function redactSecrets(text: string): string {
  return text
    .replace(/(https?:\/\/)[^/\s:@]+:[^/\s@]+@/g, '$1[redacted]@')
    .replace(/\b(gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})\b/g, '[redacted token]')
    .replace(
      /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g,
      '[redacted private key]',
    )
}
