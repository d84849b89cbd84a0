/**
 * CSV for exports (RFC 4180: comma-separated, CRLF line ends, fields with a quote, comma or line break
 * quoted, quotes doubled), UTF-8 with a byte-order mark so spreadsheet programs read it as UTF-8.
 *
 * Text cells that a spreadsheet would evaluate as a formula — starting with = + - @, a tab or a
 * carriage return — are prefixed with a single quote (OWASP "CSV injection"): the audit log and run
 * commands hold text anyone with an account or a device can write.
 */
import { stream } from 'hono/streaming';
import type { Context } from 'hono';

const UTF8_BOM = '\uFEFF';
const FORMULA_START = /^[=+\-@\t\r]/;
const NEEDS_QUOTES = /[",\r\n]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

export type CsvValue = string | number | boolean | bigint | Date | null | undefined;

export function csvCell(value: CsvValue): string {
  if (value === null || value === undefined) return '';
  if (value instanceof Date) return value.toISOString();
  if (typeof value !== 'string') return String(value);
  // Lone surrogates cannot be encoded as UTF-8; U+FFFD keeps the rest of the cell.
  let text = value.replace(LONE_SURROGATE, '\uFFFD');
  if (FORMULA_START.test(text)) text = `'${text}`;
  return NEEDS_QUOTES.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function csvRow(values: readonly CsvValue[]): string {
  return `${values.map(csvCell).join(',')}\r\n`;
}

/**
 * Streams a CSV download: the header row, then the rows of each page `nextPage` returns until it returns
 * an empty one (it is called again only when the client is still reading).
 */
export function streamCsv(
  c: Context,
  filename: string,
  header: readonly string[],
  nextPage: () => Promise<CsvValue[][]>,
  onError: (err: Error) => void,
): Response {
  c.header('Content-Type', 'text/csv; charset=utf-8');
  c.header('Content-Disposition', `attachment; filename="${filename}"`);
  c.header('Cache-Control', 'no-store');
  c.header('X-Content-Type-Options', 'nosniff');
  return stream(
    c,
    async (s) => {
      await s.write(UTF8_BOM + csvRow(header));
      while (!s.aborted) {
        const rows = await nextPage();
        if (rows.length === 0) break;
        await s.write(rows.map(csvRow).join(''));
      }
    },
    // Headers are gone by now: the download ends early, and the log says why.
    async (err) => onError(err),
  );
}
