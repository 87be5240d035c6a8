/**
 * Escapes for HTML text and attribute values (`& < > " '`). Mustache's own escape also turns `/`,
 * `` ` `` and `=` into entities, which adds no safety inside quoted attributes or text but breaks
 * plain-text acceptance checks such as `bodyContains: ["a/b"]`. Generated pages and the
 * dashboard both use it.
 */
export function escapeHtml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;')
}
