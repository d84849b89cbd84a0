/**
 * Wakes waiters (the API's agent long-polls and SSE streams, the worker's batch dispatches) when something
 * changes, in this process at once (the fast path) and in every other process via Postgres LISTEN/NOTIFY on a
 * dedicated connection.
 */
import pg from 'pg';
import { channels, notify, type Channel } from './notify.ts';

/** The part of a (pino) logger the hub uses. */
interface WarnLogger {
  warn(obj: object, msg: string): void;
}

type Listener = (payload: string | null) => void;

/**
 * Listeners by name, in sets: every idle long-poll subscribes and unsubscribes once per cycle, and 10,000 of them
 * on one name (as on an EventEmitter's `resync`) made each unsubscribe a search through an array of 10,000.
 */
class Listeners {
  private readonly byName = new Map<string, Set<Listener>>();

  add(name: string, fn: Listener): () => void {
    let set = this.byName.get(name);
    if (!set) this.byName.set(name, (set = new Set()));
    set.add(fn);
    return () => {
      set.delete(fn);
      if (set.size === 0 && this.byName.get(name) === set) this.byName.delete(name);
    };
  }

  emit(name: string, payload: string | null): void {
    const set = this.byName.get(name);
    if (set) for (const fn of [...set]) fn(payload);
  }
}

/** The name every subscriber is also woken by after the LISTEN connection was lost and is back. */
const RESYNC = 'resync';

export class EventHub {
  private readonly listeners = new Listeners();
  private listener: pg.Client | undefined;
  private stopped = false;

  constructor(
    private readonly pool: pg.Pool,
    private readonly databaseUrl: string,
    private readonly logger: WarnLogger,
  ) {}

  async start(): Promise<void> {
    const client = new pg.Client({ connectionString: this.databaseUrl, connectionTimeoutMillis: 5000 });
    client.on('notification', (msg) => {
      if (msg.payload) this.deliver(msg.channel, msg.payload);
    });
    client.on('error', (err) => {
      this.logger.warn({ err }, 'LISTEN connection lost; reconnecting');
      this.reconnect(client);
    });
    await client.connect();
    for (const channel of Object.values(channels)) await client.query(`LISTEN ${channel}`);
    this.listener = client;
  }

  private reconnect(old: pg.Client) {
    if (this.listener !== old) return;
    this.listener = undefined;
    old.end().catch(() => {});
    const retry = (delay: number) => {
      if (this.stopped) return;
      setTimeout(() => {
        this.start().then(
          // Anything may have happened while deaf: wake every waiter so it re-reads the database.
          () => this.listeners.emit(RESYNC, null),
          () => retry(Math.min(delay * 2, 10_000)),
        );
      }, delay).unref();
    };
    retry(500);
  }

  /** True while the LISTEN connection is up; while it is down, notifications from other processes are missed. */
  get listening(): boolean {
    return this.listener !== undefined;
  }

  /**
   * Every payload on a channel, from this process and all others, plus `resync` (called with null)
   * after the LISTEN connection was lost and is back: anything may have been missed in between.
   */
  subscribeChannel(channel: Channel, fn: (payload: string | null) => void): () => void {
    return this.both(
      this.listeners.add(channel, fn),
      this.listeners.add(RESYNC, () => fn(null)),
    );
  }

  /** Wake local waiters now and other processes through NOTIFY. Never throws. */
  publish(channel: Channel, payload: string): void {
    this.deliver(channel, payload);
    notify(this.pool, channel, payload).catch((err) => this.logger.warn({ err, channel }, 'NOTIFY failed'));
  }

  /** Woken by `publish(channel, key)` here or elsewhere, and by a resync. */
  subscribe(channel: Channel, key: string, fn: () => void): () => void {
    return this.both(this.listeners.add(`${channel}:${key}`, fn), this.listeners.add(RESYNC, fn));
  }

  private deliver(channel: string, payload: string): void {
    this.listeners.emit(`${channel}:${payload}`, payload);
    this.listeners.emit(channel, payload);
  }

  private both(a: () => void, b: () => void): () => void {
    return () => {
      a();
      b();
    };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const l = this.listener;
    this.listener = undefined;
    await l?.end().catch(() => {});
  }
}

/**
 * Arms a one-shot wake-up on (channel, key) *before* the caller reads the database, so a change that
 * lands between the read and the wait is not missed. `wait` resolves true when woken, false on timeout
 * or abort.
 */
export function armWake(hub: EventHub, channel: Channel, key: string) {
  let woken = false;
  let resolveWake = () => {};
  const unsubscribe = hub.subscribe(channel, key, () => {
    woken = true;
    resolveWake();
  });
  return {
    dispose: unsubscribe,
    wait(timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
      if (woken) return Promise.resolve(true);
      if (signal?.aborted) return Promise.resolve(false);
      return new Promise<boolean>((resolve) => {
        const done = (v: boolean) => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          resolve(v);
        };
        const onAbort = () => done(false);
        const timer = setTimeout(() => done(false), timeoutMs);
        signal?.addEventListener('abort', onAbort, { once: true });
        resolveWake = () => done(true);
      });
    },
  };
}
