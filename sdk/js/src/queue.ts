import type { EventType, KeyValueStore, ProctorEvent } from "./types";
import { newId, rfc3339 } from "./time";

/** In-memory storage for when localStorage is missing or full (events then live as long as the page). */
export class MemoryStore implements KeyValueStore {
  private data = new Map<string, string>();
  getItem(k: string): string | null { return this.data.has(k) ? (this.data.get(k) as string) : null; }
  setItem(k: string, v: string): void { this.data.set(k, v); }
  removeItem(k: string): void { this.data.delete(k); }
}

/**
 * A per-session queue of events kept in storage (localStorage by default), so that events
 * survive network loss and page reloads. Every event gets its id and seq once, when it is
 * pushed; a retry re-sends the same id (the server's idempotency key), so nothing is
 * duplicated; an event leaves the queue only once the server has answered for it.
 */
export class EventQueue {
  private items: ProctorEvent[];
  private readonly key: string;
  private readonly seqKey: string;
  /** set when storage refused a write (quota): events are still kept in memory */
  storageError: unknown = null;

  constructor(private readonly store: KeyValueStore, readonly sessionId: string) {
    this.key = `proctor:q:${sessionId}`;
    this.seqKey = `proctor:seq:${sessionId}`;
    this.items = this.load();
  }

  private load(): ProctorEvent[] {
    try {
      const raw = this.store.getItem(this.key);
      const parsed = raw ? (JSON.parse(raw) as ProctorEvent[]) : [];
      return Array.isArray(parsed) ? parsed : [];
    } catch {
      return [];
    }
  }

  private save(): void {
    try {
      if (this.items.length) this.store.setItem(this.key, JSON.stringify(this.items));
      else this.store.removeItem(this.key);
      this.storageError = null;
    } catch (err) {
      this.storageError = err;
    }
  }

  /** The next seq (persisted: a reload goes on counting). */
  private nextSeq(): number {
    const last = Number(this.store.getItem(this.seqKey) || "0");
    const fromQueue = this.items.reduce((m, e) => Math.max(m, e.seq), 0);
    const seq = Math.max(Number.isFinite(last) ? last : 0, fromQueue) + 1;
    try { this.store.setItem(this.seqKey, String(seq)); } catch (err) { this.storageError = err; }
    return seq;
  }

  push(type: EventType, fields: Record<string, unknown> = {}, at: Date = new Date()): ProctorEvent {
    const event: ProctorEvent = {
      ...fields, id: newId(), session_id: this.sessionId, seq: this.nextSeq(), ts: rfc3339(at), type,
    };
    this.items.push(event);
    this.save();
    return event;
  }

  /** The oldest events, at most ``max`` (in seq order of pushing). */
  batch(max: number): ProctorEvent[] {
    return this.items.slice(0, max);
  }

  /** Drop the events the server answered for. */
  ack(ids: Iterable<string>): void {
    const done = new Set(ids);
    this.items = this.items.filter((e) => !done.has(e.id));
    this.save();
  }

  get size(): number {
    return this.items.length;
  }

  /** Forget the session's counter once it ended and everything was delivered. */
  clear(): void {
    this.items = [];
    this.save();
    try { this.store.removeItem(this.seqKey); } catch { /* nothing kept */ }
  }
}

export type SendOutcome =
  /** the server answered for every event of the batch (accepted, duplicate or rejected) */
  | { ok: true; rejected?: { id: string; reason: string }[] }
  /** not delivered: keep the events and try again later */
  | { ok: false; status?: number; error?: unknown };

/**
 * Sends the queue in batches, one request at a time, and retries with backoff (same ids)
 * until the server answers.
 */
export class Sender {
  private inflight: Promise<void> | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private failures = 0;
  sent = 0;
  lastError: unknown = null;

  constructor(
    private readonly queue: EventQueue,
    private readonly transport: (events: ProctorEvent[]) => Promise<SendOutcome>,
    private readonly opts: { batchSize?: number; retryMinMs?: number; retryMaxMs?: number;
      onRejected?: (r: { id: string; reason: string }[]) => void } = {},
  ) {}

  /** Send everything queued now; resolves when the queue is empty or a send failed. */
  flush(): Promise<void> {
    if (!this.inflight) {
      this.inflight = this.run().finally(() => { this.inflight = null; });
    }
    return this.inflight;
  }

  private async run(): Promise<void> {
    const size = this.opts.batchSize ?? 100;
    while (this.queue.size) {
      const batch = this.queue.batch(size);
      let outcome: SendOutcome;
      try {
        outcome = await this.transport(batch);
      } catch (error) {
        outcome = { ok: false, error };
      }
      if (!outcome.ok) {
        this.failures += 1;
        this.lastError = outcome.error ?? outcome.status;
        this.retryLater();
        return;
      }
      this.failures = 0;
      this.sent += batch.length;
      if (outcome.rejected && outcome.rejected.length && this.opts.onRejected) this.opts.onRejected(outcome.rejected);
      this.queue.ack(batch.map((e) => e.id));
    }
  }

  /** Backoff: min * 2^(failures-1), capped, with jitter. */
  retryDelay(): number {
    const min = this.opts.retryMinMs ?? 1000;
    const max = this.opts.retryMaxMs ?? 30000;
    const base = Math.min(max, min * 2 ** Math.max(0, this.failures - 1));
    return Math.round(base * (0.75 + Math.random() * 0.25));
  }

  private retryLater(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => { this.timer = null; void this.flush(); }, this.retryDelay());
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
