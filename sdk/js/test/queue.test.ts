import { describe, expect, it } from "vitest";
import { EventQueue, MemoryStore, Sender, type SendOutcome } from "../src/queue";
import type { ProctorEvent } from "../src/types";
import { rfc3339 } from "../src/time";

/** proctor's ingest as the queue sees it: idempotent by event id. */
class Ingest {
  stored = new Map<string, ProctorEvent>();
  calls: number[] = [];
  received = 0;
  accept(events: ProctorEvent[]): void {
    this.calls.push(events.length);
    for (const e of events) {
      this.received += 1;
      if (!this.stored.has(e.id)) this.stored.set(e.id, e);
    }
  }
}

function fill(q: EventQueue, n: number): ProctorEvent[] {
  return Array.from({ length: n }, (_, i) => q.push("heartbeat", { position: i * 10, rate: 1, visible: true, focused: true }));
}

describe("EventQueue", () => {
  it("gives every event a unique id, seq from 1 and an RFC 3339 time with offset and ms", () => {
    const q = new EventQueue(new MemoryStore(), "s-1");
    const events = fill(q, 5);
    expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(new Set(events.map((e) => e.id)).size).toBe(5);
    for (const e of events) {
      expect(e.session_id).toBe("s-1");
      expect(e.ts).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$/);
      expect(Math.abs(Date.parse(e.ts) - Date.now())).toBeLessThan(5000);
    }
    expect(q.size).toBe(5);
  });

  it("survives a reload: the next page finds the pending events and goes on counting", () => {
    const store = new MemoryStore();
    const before = fill(new EventQueue(store, "s-1"), 3);
    const after = new EventQueue(store, "s-1");
    expect(after.batch(10)).toEqual(before);
    expect(after.push("pause", { position: 30 }).seq).toBe(4);
    // another session's queue is separate
    expect(new EventQueue(store, "s-2").size).toBe(0);
  });

  it("keeps counting after everything was sent (seq never restarts)", () => {
    const store = new MemoryStore();
    const q = new EventQueue(store, "s-1");
    const sent = fill(q, 2);
    q.ack(sent.map((e) => e.id));
    expect(new EventQueue(store, "s-1").push("play", { position: 0 }).seq).toBe(3);
  });

  it("keeps events in memory when storage refuses a write", () => {
    const full = { getItem: () => null, setItem: () => { throw new Error("QuotaExceededError"); }, removeItem: () => undefined };
    const q = new EventQueue(full, "s-1");
    fill(q, 3);
    expect(q.size).toBe(3);
    expect(q.storageError).toBeInstanceOf(Error);
  });
});

describe("Sender", () => {
  it("sends in batches of at most batchSize, oldest first", async () => {
    const q = new EventQueue(new MemoryStore(), "s-1");
    const pushed = fill(q, 250);
    const ingest = new Ingest();
    const sender = new Sender(q, async (events) => { ingest.accept(events); return { ok: true }; }, { batchSize: 100 });
    await sender.flush();
    expect(ingest.calls).toEqual([100, 100, 50]);
    expect([...ingest.stored.keys()]).toEqual(pushed.map((e) => e.id));
    expect(q.size).toBe(0);
  });

  it("loses nothing and duplicates nothing across network loss, lost answers and a reload", async () => {
    const store = new MemoryStore();
    const ingest = new Ingest();
    let mode: "down" | "answer-lost" | "up" = "down";
    const transport = async (events: ProctorEvent[]): Promise<SendOutcome> => {
      if (mode === "down") throw new TypeError("Failed to fetch");
      ingest.accept(events);
      if (mode === "answer-lost") throw new TypeError("network changed");
      return { ok: true };
    };
    const q1 = new EventQueue(store, "s-1");
    const s1 = new Sender(q1, transport, { batchSize: 40 });
    const pushed = fill(q1, 30);
    await s1.flush(); // offline: kept
    expect(q1.size).toBe(30);
    mode = "answer-lost"; // the server stores the batch but the answer never arrives
    await s1.flush();
    expect(q1.size).toBe(30);
    s1.stop();
    // the page reloads: a new queue on the same storage re-sends the same ids
    const q2 = new EventQueue(store, "s-1");
    const s2 = new Sender(q2, transport, { batchSize: 40 });
    pushed.push(...fill(q2, 5));
    mode = "up";
    await s2.flush();
    expect(q2.size).toBe(0);
    expect(ingest.stored.size).toBe(35);
    expect([...ingest.stored.keys()].sort()).toEqual(pushed.map((e) => e.id).sort());
    expect([...ingest.stored.values()].map((e) => e.seq).sort((a, b) => a - b))
      .toEqual(Array.from({ length: 35 }, (_, i) => i + 1));
    expect(ingest.received).toBe(65); // 30 re-sent: harmless, the ids are the same
    s2.stop();
  });

  it("keeps the events when the server answers with an error, and backs off", async () => {
    const q = new EventQueue(new MemoryStore(), "s-1");
    fill(q, 3);
    const sender = new Sender(q, async () => ({ ok: false, status: 503 }), { retryMinMs: 1000, retryMaxMs: 8000 });
    await sender.flush();
    expect(q.size).toBe(3);
    const first = sender.retryDelay();
    await sender.flush();
    await sender.flush();
    expect(sender.retryDelay()).toBeGreaterThan(first);
    expect(sender.retryDelay()).toBeLessThanOrEqual(8000);
    sender.stop();
  });

  it("drops events the server rejected for good, and says which", async () => {
    const q = new EventQueue(new MemoryStore(), "s-1");
    const [a] = fill(q, 2);
    const seen: string[] = [];
    const sender = new Sender(q, async () => ({ ok: true, rejected: [{ id: a.id, reason: "bad" }] }),
      { onRejected: (r) => seen.push(...r.map((x) => x.id)) });
    await sender.flush();
    expect(q.size).toBe(0);
    expect(seen).toEqual([a.id]);
  });

  it("never sends one event in two requests at once (single flight)", async () => {
    const q = new EventQueue(new MemoryStore(), "s-1");
    fill(q, 10);
    const ingest = new Ingest();
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    const sender = new Sender(q, async (events) => { await gate; ingest.accept(events); return { ok: true }; });
    const a = sender.flush();
    const b = sender.flush();
    fill(q, 2); // pushed while the first request is in flight: sent after it
    release();
    await Promise.all([a, b]);
    expect(ingest.received).toBe(12);
    expect(ingest.stored.size).toBe(12);
  });
});

describe("rfc3339", () => {
  it("writes the local offset and milliseconds", () => {
    const d = new Date(Date.UTC(2026, 11, 1, 1, 2, 3, 45));
    const s = rfc3339(d);
    expect(Date.parse(s)).toBe(d.getTime());
    expect(s).toMatch(/\.045[+-]\d\d:\d\d$/);
  });
});
