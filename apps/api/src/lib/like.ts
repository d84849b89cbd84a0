/**
 * Prisma passes `contains`, `startsWith`, `endsWith` and case-insensitive `equals` to PostgreSQL's
 * (I)LIKE without escaping, so `_` and `%` in user input would match any character. This escapes
 * them (and the escape character itself) so the text matches literally.
 */
export function likeLiteral(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}
