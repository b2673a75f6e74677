import type { KeyValueStore } from "./types";
import { newId } from "./time";

interface ChannelLike {
  postMessage(msg: unknown): void;
  onmessage: ((ev: { data: unknown }) => void) | null;
  close(): void;
}

/**
 * One study tab per learner: the tab that plays claims the lock, every other tab of the same
 * learner (same origin) is told and pauses. BroadcastChannel where there is one, otherwise
 * storage events. The server still judges two sessions playing at once (MULTI_WINDOW).
 */
export class TabLock {
  readonly tabId = newId();
  private channel: ChannelLike | null = null;
  private readonly key: string;
  private readonly onStorage = (e: StorageEvent) => {
    if (e.key === this.key && e.newValue) this.receive(safeParse(e.newValue));
  };

  constructor(
    readonly learnerId: string,
    private readonly onLost: (byTab: string) => void,
    private readonly opts: { store?: KeyValueStore; channel?: ChannelLike | null } = {},
  ) {
    this.key = `proctor:tab:${learnerId}`;
    const BC = (globalThis as { BroadcastChannel?: new (name: string) => ChannelLike }).BroadcastChannel;
    this.channel = opts.channel !== undefined ? opts.channel : BC ? new BC(this.key) : null;
    if (this.channel) this.channel.onmessage = (ev) => this.receive(ev.data);
    else if (typeof window !== "undefined") window.addEventListener("storage", this.onStorage);
  }

  /** This tab studies now: the others pause. */
  claim(): void {
    const msg = { type: "claim", tab: this.tabId, at: Date.now() };
    if (this.channel) this.channel.postMessage(msg);
    const store = this.opts.store ?? (typeof localStorage !== "undefined" ? localStorage : null);
    try { store?.setItem(this.key, JSON.stringify(msg)); } catch { /* storage full: the channel told them */ }
  }

  private receive(data: unknown): void {
    const msg = data as { type?: string; tab?: string } | null;
    if (msg && msg.type === "claim" && msg.tab && msg.tab !== this.tabId) this.onLost(msg.tab);
  }

  close(): void {
    if (this.channel) this.channel.close();
    if (typeof window !== "undefined") window.removeEventListener("storage", this.onStorage);
  }
}

function safeParse(s: string): unknown {
  try { return JSON.parse(s); } catch { return null; }
}
