/**
 * `_` and `%` in user input would match any character in PostgreSQL's (I)LIKE (and in Prisma's `contains`,
 * `startsWith`, `endsWith` and case-insensitive `equals`, which pass them through unescaped). This escapes them
 * (and the escape character itself) so the text matches literally.
 */
export function likeLiteral(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}
