/** What went wrong, in words, whatever was thrown: never `undefined` or `[object Object]`. */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const message = err.message || err.name;
    const cause = err.cause === undefined ? '' : describeError(err.cause);
    return cause && !message.includes(cause) ? `${message} (cause: ${cause})` : message;
  }
  if (typeof err === 'string') return err || 'an empty error message';
  if (err === undefined || err === null) return `an error without details (${String(err)} was thrown)`;
  try {
    return JSON.stringify(err) ?? String(err);
  } catch {
    return String(err);
  }
}
