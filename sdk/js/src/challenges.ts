import type { Api } from "./api";
import { Camera, CameraError } from "./camera";
import { button, openPopup, type PopupParts } from "./popup";
import type { Challenge, ChallengeState } from "./types";

const TITLES: Record<string, string> = { confirm: "学习确认", photo: "随机拍照", liveness: "人脸活体核验" };

const OUTCOME_TEXT: Record<string, string> = {
  poor_quality: "照片不够清晰（光线或角度不佳），请正对摄像头后重新拍摄。",
  near_duplicate: "与之前的照片几乎相同，请稍微动一动后重新拍摄。",
  no_face: "没有检测到人脸，请正对摄像头后重试。",
  multiple_faces: "画面中有多张人脸，请确保只有您本人在镜头前。",
  mismatch: "人脸与报名照片不一致。",
  spoof: "未通过活体检测。",
  no_enrolment: "尚未登记报名照片，请联系培训机构。",
};

export interface RunnerHooks {
  /** the video must stop (a challenge is shown) */
  block(): void;
  /** the challenge passed: playback may go on */
  release(): void;
  /** camera facts, as evidence */
  camera(label: string, virtual: boolean): void;
  onChallenge?(c: Challenge): void;
  onResult?(c: Challenge, outcome: string): void;
  onError?(err: unknown): void;
}

/** Polls the due challenge and walks the learner through it. */
export class ChallengeRunner {
  current: Challenge | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;
  private polling = false;
  private camera = new Camera();

  constructor(
    private readonly api: Api,
    private readonly container: HTMLElement,
    private readonly hooks: RunnerHooks,
    private readonly pollMs = 5000,
  ) {}

  start(): void {
    void this.poll();
    this.timer = setInterval(() => void this.poll(), this.pollMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.camera.close();
  }

  /** Fetch the due challenge; show it when it is new. Network errors wait for the next poll. */
  async poll(): Promise<void> {
    if (this.polling || this.current) return;
    this.polling = true;
    try {
      const c = await this.api.challenge();
      if (c && !this.current) {
        this.current = c;
        this.hooks.onChallenge?.(c);
        this.hooks.block();
        void this.run(c);
      }
    } catch (err) {
      this.hooks.onError?.(err);
    } finally {
      this.polling = false;
    }
  }

  private async run(c: Challenge): Promise<void> {
    const ui = openPopup(this.container, TITLES[c.kind] ?? "验证", c.prompt);
    ui.root.dataset.kind = c.kind;
    ui.root.dataset.challengeId = c.challenge_id;
    // the deadline by this device's clock: the challenge's lifetime from when it arrived
    const expires = Date.now() + (Date.parse(c.expires_at) - Date.parse(c.issued_at));
    const tick = () => {
      const s = Math.max(0, Math.round((expires - Date.now()) / 1000));
      ui.left.textContent = `剩余 ${s} 秒`;
    };
    tick();
    const countdown = setInterval(tick, 1000);
    let outcome = "failed";
    try {
      const flow = c.kind === "confirm" ? this.confirm(c, ui) : this.photo(c, ui, expires);
      const expiry = new Promise<string>((r) => setTimeout(() => r("expired"), Math.max(0, expires - Date.now()) + 1000));
      outcome = await Promise.race([flow, expiry]);
    } catch (err) {
      this.hooks.onError?.(err);
      ui.status.textContent = "网络异常，请稍候再试。";
      await sleep(1500);
    } finally {
      clearInterval(countdown);
      this.camera.close();
      ui.close();
      this.current = null;
    }
    this.hooks.onResult?.(c, outcome);
    if (outcome === "passed") this.hooks.release();
    else void this.poll(); // a failed or expired challenge is retried at once by the server
  }

  private confirm(c: Challenge, ui: PopupParts): Promise<string> {
    const doc = this.container.ownerDocument;
    const label = doc.createElement("label");
    label.textContent = "请输入上方显示的数字：";
    const input = doc.createElement("input");
    input.inputMode = "numeric";
    input.autocomplete = "off";
    input.maxLength = 8;
    input.dataset.proctor = "code";
    label.appendChild(input);
    const ok = button(doc, "确认", "submit");
    ui.body.append(label, doc.createElement("br"), ok);
    input.focus();
    return new Promise((resolve, reject) => {
      const submit = async () => {
        if (!input.value.trim()) { ui.status.textContent = "请输入数字。"; return; }
        ok.disabled = true;
        try {
          const outcome = await this.api.answer(c.challenge_id, input.value.trim());
          ui.status.textContent = outcome === "passed" ? "确认成功，继续学习。" : "数字不正确。";
          if (outcome !== "passed") await sleep(1200);
          resolve(outcome);
        } catch (err) {
          reject(err);
        }
      };
      ok.addEventListener("click", () => void submit());
      input.addEventListener("keydown", (e) => { if (e.key === "Enter") void submit(); });
    });
  }

  private async photo(c: Challenge, ui: PopupParts, expires: number): Promise<string> {
    const doc = this.container.ownerDocument;
    const preview = doc.createElement("video");
    preview.setAttribute("aria-label", "摄像头画面");
    preview.dataset.proctor = "preview";
    const count = doc.createElement("div");
    count.className = "proctor-count";
    count.setAttribute("aria-live", "assertive");
    const go = button(doc, c.kind === "liveness" ? "开始核验" : "拍照", "capture");
    ui.body.append(preview, count, go);
    // open the camera; on refusal say why and offer to try again
    for (;;) {
      try {
        await this.camera.open();
        await this.camera.attach(preview);
        this.hooks.camera(this.camera.label, this.camera.virtual);
        break;
      } catch (err) {
        const msg = err instanceof CameraError ? err.message : "摄像头无法打开。";
        ui.status.textContent = msg;
        ui.root.dataset.cameraError = err instanceof CameraError ? err.code : "failed";
        go.textContent = "重试";
        go.focus();
        await clicked(go);
        if (Date.now() > expires) return "expired";
        ui.status.textContent = "";
        delete ui.root.dataset.cameraError;
      }
    }
    go.textContent = c.kind === "liveness" ? "开始核验" : "拍照";
    go.focus();
    for (;;) {
      await clicked(go);
      go.disabled = true;
      let images: Blob[];
      if (c.kind === "liveness") {
        for (let i = 3; i > 0; i--) { count.textContent = String(i); await sleep(700); }
        count.textContent = c.prompt.split(" (")[0];
        const [lo, hi] = c.frames ?? [5, 10];
        images = await this.camera.burst(Math.max(lo, hi), c.frame_interval_ms ?? 150);
        count.textContent = "";
      } else {
        images = [await this.camera.capture()];
      }
      ui.status.textContent = "正在核验…";
      const state: ChallengeState = await this.api.photos(c.challenge_id, images, {
        camera_label: this.camera.label, camera_virtual: String(this.camera.virtual),
      });
      if (state.status === "passed") {
        ui.status.textContent = "核验通过，继续学习。";
        await sleep(600);
        return "passed";
      }
      const outcomes = state.photos.map((p) => p.outcome);
      const why = outcomes.map((o) => OUTCOME_TEXT[o]).find(Boolean) ?? "核验未通过。";
      if (state.status === "pending") {
        // poor_quality / near_duplicate and the like: the same challenge takes another photo
        ui.status.textContent = why;
        ui.root.dataset.retry = outcomes.join(",");
        go.disabled = false;
        go.textContent = "重新拍摄";
        go.focus();
        continue;
      }
      ui.status.textContent = why;
      await sleep(1500);
      return state.status;
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function clicked(el: HTMLElement): Promise<void> {
  return new Promise((r) => el.addEventListener("click", () => r(), { once: true }));
}
