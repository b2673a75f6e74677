/**
 * @proctor/player: proctor's browser SDK for course platforms (docs/sdk.md).
 *
 *   const player = ProctorPlayer.attach({ baseUrl, sessionId, token, learnerId, video });
 *
 * It sends the CONTRACT's telemetry from the player (with ids, seq and RFC 3339 times, through
 * a persistent queue), keeps one study tab per learner, and runs the service's challenges
 * (confirm code, photo, liveness) in an accessible Chinese popup with the camera.
 */
import { Api, type TokenInfo } from "./api";
import { html5Adapter } from "./adapters";
import { ChallengeRunner } from "./challenges";
import { banner } from "./popup";
import { EventQueue, MemoryStore, Sender } from "./queue";
import { TabLock } from "./tablock";
import type { Challenge, EventType, KeyValueStore, PlayerAdapter, Verdict } from "./types";

export { Api, ApiError } from "./api";
export { html5Adapter, videojsAdapter, xgplayerAdapter } from "./adapters";
export type { VideoJsLike, XgplayerLike } from "./adapters";
export { Camera, CameraError, looksVirtual } from "./camera";
export { ChallengeRunner } from "./challenges";
export { EventQueue, MemoryStore, Sender } from "./queue";
export type { SendOutcome } from "./queue";
export { TabLock } from "./tablock";
export { newId, rfc3339 } from "./time";
export type * from "./types";
export type { TokenInfo } from "./api";

export interface ProctorOptions {
  /** proctor's base URL, e.g. https://proctor.example.cn */
  baseUrl: string;
  sessionId: string;
  /** the session token your backend got from POST /v1/sessions (or /v1/sessions/{id}/token) */
  token: string;
  tokenExpiresAt?: string | null;
  /** your learner id: one study tab per learner */
  learnerId: string;
  /** an HTML5 <video>, or ``adapter`` for another player */
  video?: HTMLMediaElement;
  adapter?: PlayerAdapter;
  /** where the popup goes (document.body) */
  container?: HTMLElement;
  /** called when the token can no longer be renewed by itself: ask your backend for a new one */
  refreshToken?: () => Promise<TokenInfo>;
  heartbeatMs?: number;
  pollMs?: number;
  flushMs?: number;
  batchSize?: number;
  /** where the queue lives (localStorage) */
  storage?: KeyValueStore;
  fetch?: typeof fetch;
  onChallenge?: (c: Challenge) => void;
  onChallengeResult?: (c: Challenge, outcome: string) => void;
  onTabLost?: () => void;
  onError?: (err: unknown) => void;
}

export class ProctorPlayer {
  readonly api: Api;
  readonly queue: EventQueue;
  readonly sender: Sender;
  readonly lock: TabLock;
  readonly challenges: ChallengeRunner;
  readonly player: PlayerAdapter;
  /** a challenge is open: playback waits for it */
  blocked = false;
  /** another tab of this learner took over */
  lostTab = false;
  ended = false;
  private lastPos = 0;
  private wasPlaying = false;
  private camera: { label: string; virtual: boolean; sent: boolean } | null = null;
  private off: (() => void)[] = [];
  private timers: ReturnType<typeof setInterval>[] = [];
  private hideBanner: (() => void) | null = null;
  private readonly container: HTMLElement;

  constructor(private readonly opts: ProctorOptions) {
    const adapter = opts.adapter ?? (opts.video ? html5Adapter(opts.video) : null);
    if (!adapter) throw new Error("ProctorPlayer: give `video` (an HTML5 <video>) or `adapter`");
    this.player = adapter;
    this.container = opts.container ?? document.body;
    this.api = new Api({ baseUrl: opts.baseUrl, sessionId: opts.sessionId, token: opts.token,
      tokenExpiresAt: opts.tokenExpiresAt, refreshToken: opts.refreshToken, fetch: opts.fetch });
    this.queue = new EventQueue(opts.storage ?? defaultStore(), opts.sessionId);
    this.sender = new Sender(this.queue, (events) => this.api.postEvents(events),
      { batchSize: opts.batchSize ?? 100 });
    this.lock = new TabLock(opts.learnerId, () => this.tabLost());
    this.challenges = new ChallengeRunner(this.api, this.container, {
      block: () => this.block(),
      release: () => this.release(),
      camera: (label, virtual) => { this.camera = { label, virtual, sent: false }; },
      onChallenge: opts.onChallenge,
      onResult: opts.onChallengeResult,
      onError: opts.onError,
    }, opts.pollMs ?? 5000);
  }

  /** Create and start. */
  static attach(opts: ProctorOptions): ProctorPlayer {
    const p = new ProctorPlayer(opts);
    p.start();
    return p;
  }

  /** Record an event (queued, then sent in batches). */
  record(type: EventType, fields: Record<string, unknown> = {}): void {
    if (this.ended) return;
    this.queue.push(type, fields);
  }

  start(): void {
    const p = this.player;
    this.lastPos = p.position() || 0;
    this.off.push(
      p.on("play", () => {
        this.record("play", { position: p.position() });
        if (this.blocked) { this.wasPlaying = true; p.pause(); return; } // the challenge first, then on
        if (this.lostTab) this.regainTab();
        this.lock.claim();
      }),
      p.on("pause", () => this.record("pause", { position: p.position() })),
      p.on("seeking", () => {
        const to = p.position();
        this.record("seek", { from: this.lastPos, to });
        this.lastPos = to;
      }),
      p.on("timeupdate", () => { this.lastPos = p.position(); }),
      p.on("ratechange", () => this.record("ratechange", { rate: p.rate() })),
      p.on("ended", () => { this.record("lesson.complete", { position: p.position() }); void this.flush(); }),
    );
    const onVis = () => this.record("visibility", { state: document.visibilityState === "hidden" ? "hidden" : "visible" });
    const onBlur = () => this.record("focus", { state: "blur" });
    const onFocus = () => this.record("focus", { state: "focus" });
    const onOnline = () => void this.flush();
    const onHide = () => { void this.flushNow(true); };
    document.addEventListener("visibilitychange", onVis);
    window.addEventListener("blur", onBlur);
    window.addEventListener("focus", onFocus);
    window.addEventListener("online", onOnline);
    window.addEventListener("pagehide", onHide);
    this.off.push(
      () => document.removeEventListener("visibilitychange", onVis),
      () => window.removeEventListener("blur", onBlur),
      () => window.removeEventListener("focus", onFocus),
      () => window.removeEventListener("online", onOnline),
      () => window.removeEventListener("pagehide", onHide),
    );
    this.timers.push(setInterval(() => this.heartbeat(), this.opts.heartbeatMs ?? 10_000));
    this.timers.push(setInterval(() => void this.flush(), this.opts.flushMs ?? 2000));
    if (!p.paused()) this.lock.claim();
    this.challenges.start();
    void this.flush(); // whatever a previous page left in the queue
  }

  heartbeat(): void {
    const p = this.player;
    const fields: Record<string, unknown> = {
      position: p.position(), rate: p.rate(),
      visible: document.visibilityState !== "hidden", focused: document.hasFocus(),
    };
    if (this.camera && !this.camera.sent) {
      // evidence for a reviewer, never a verdict
      fields.camera_label = this.camera.label;
      fields.camera_virtual = this.camera.virtual;
      this.camera.sent = true;
    }
    this.record("heartbeat", fields);
  }

  /** Send what is queued (batches, retried with the same ids until the server answers). */
  flush(): Promise<void> {
    return this.sender.flush();
  }

  private async flushNow(keepalive: boolean): Promise<void> {
    if (!keepalive) return this.flush();
    const batch = this.queue.batch(this.opts.batchSize ?? 100);
    if (!batch.length) return;
    const out = await this.api.postEvents(batch, true);
    if (out.ok) this.queue.ack(batch.map((e) => e.id));
  }

  private block(): void {
    this.blocked = true;
    this.wasPlaying = this.wasPlaying || !this.player.paused();
    this.player.pause();
  }

  private release(): void {
    this.blocked = false;
    if (this.wasPlaying && !this.lostTab && !this.ended) this.player.play();
    this.wasPlaying = false;
  }

  private tabLost(): void {
    this.lostTab = true;
    if (!this.player.paused()) this.player.pause();
    this.wasPlaying = false;
    if (!this.hideBanner) this.hideBanner = banner(this.container, "您已在其他窗口或标签页开始学习，本页已暂停。同一时间只能在一个页面学习。");
    this.opts.onTabLost?.();
  }

  private regainTab(): void {
    this.lostTab = false;
    if (this.hideBanner) this.hideBanner();
    this.hideBanner = null;
  }

  /** The learner leaves: `session.end`, then everything queued is sent. The token is then revoked. */
  async end(): Promise<void> {
    if (this.ended) return;
    if (!this.player.paused()) this.player.pause();
    this.record("session.end");
    this.ended = true;
    this.stopTimers();
    await this.flush();
    this.api.stop();
  }

  /** The session's verdict (readable with the token until it expires, even after `end`). */
  verdict(): Promise<Verdict> {
    return this.api.verdict();
  }

  private stopTimers(): void {
    this.timers.forEach((t) => clearInterval(t));
    this.timers = [];
    this.challenges.stop();
    this.lock.close();
    this.off.forEach((f) => f());
    this.off = [];
  }

  /** Stop everything without ending the session (e.g. a single-page app leaving the lesson). */
  destroy(): void {
    this.stopTimers();
    this.sender.stop();
    this.api.stop();
    if (this.hideBanner) this.hideBanner();
  }
}

function defaultStore(): KeyValueStore {
  try {
    const s = window.localStorage;
    const probe = "proctor:probe";
    s.setItem(probe, "1");
    s.removeItem(probe);
    return s;
  } catch {
    return new MemoryStore();
  }
}

export default ProctorPlayer;
