/** Sampling helpers shared by the benchmarks. */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Calls `fn` every `intervalMs` (the next call starts at once when one takes longer) until `stop.stopped`. */
export async function every(intervalMs: number, stop: { stopped: boolean }, fn: () => Promise<void>): Promise<void> {
  while (!stop.stopped) {
    const began = performance.now();
    await fn();
    const left = intervalMs - (performance.now() - began);
    if (left > 0 && !stop.stopped) await sleep(left);
  }
}
