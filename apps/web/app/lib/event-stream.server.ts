/**
 * Relays an upstream event stream (the API's text/event-stream body) to the browser.
 *
 * A live stream only ever ends by someone leaving: the browser navigates away (Remix aborts the
 * request's signal, which aborts the upstream fetch) or the API goes away (restart, deploy). Both are
 * normal for Server-Sent Events — the browser's EventSource reconnects from its cursor — so neither
 * may error the response body: Remix's adapters hand a body error to express/Vite as a request
 * failure, which logs a stack trace ("This operation was aborted") and, under `vite dev`, shows the
 * error overlay on the next page.
 */
export function relayEventStream(
  upstream: ReadableStream<Uint8Array> | null,
  signal: AbortSignal,
  warn: (message: string) => void = (message) => console.warn(message),
): ReadableStream<Uint8Array> {
  const reader = upstream?.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (!reader) return controller.close();
      try {
        const { done, value } = await reader.read();
        if (done) controller.close();
        else controller.enqueue(value);
      } catch (error) {
        // The browser's leaving aborted the upstream request: nothing went wrong, nothing to report.
        if (!signal.aborted) warn(`[web] event stream from the API ended early: ${describe(error)}`);
        controller.close();
      }
    },
    cancel(reason) {
      return reader?.cancel(reason).catch(() => undefined);
    },
  });
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? ` (${error.cause.message})` : '';
  return `${error.message}${cause}`;
}
