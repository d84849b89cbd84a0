/** CommonMark-style escaping shared by the Teams (Adaptive Card TextBlock) and Discord renderers. */

/** Every ASCII punctuation character that can start or end markdown syntax gets a backslash (CommonMark §2.4). */
export function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_{}[\]()<>#+\-.!|~:>]/g, '\\$&');
}

/** A link target that cannot close the `(…)` early or start a title: parentheses, spaces and `<>` percent-encoded. */
export function markdownUrl(url: string): string {
  return url.replace(/\(/g, '%28').replace(/\)/g, '%29').replace(/ /g, '%20').replace(/</g, '%3C').replace(/>/g, '%3E');
}
