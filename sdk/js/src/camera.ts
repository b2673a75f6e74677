/** The learner's camera: getUserMedia (front camera), a live preview, JPEG frames and bursts. */

const VIRTUAL = /\b(obs|manycam|virtual|snap camera|xsplit|droidcam|e2esoft|vcam|splitcam|camtwist|iriun|epoccam|fake)\b/i;

/** Whether a camera's label names a known virtual camera (evidence for a reviewer, never a verdict). */
export function looksVirtual(label: string): boolean {
  return VIRTUAL.test(label);
}

export type CameraErrorCode = "unsupported" | "denied" | "no_camera" | "busy" | "failed";

const MESSAGES: Record<CameraErrorCode, string> = {
  unsupported: "此浏览器无法使用摄像头，请使用最新版 Chrome、Edge、Safari 或微信内置浏览器，并通过 https 打开本页。",
  denied: "未获得摄像头权限。请在浏览器地址栏或系统设置中允许本网站使用摄像头，然后点击“重试”。未完成人脸核验的学习不计学时。",
  no_camera: "未检测到摄像头。请连接摄像头（或使用带前置摄像头的手机）后点击“重试”。未完成人脸核验的学习不计学时。",
  busy: "摄像头正被其他程序占用，请关闭其他使用摄像头的程序后点击“重试”。",
  failed: "摄像头无法打开，请检查设备后点击“重试”。",
};

export class CameraError extends Error {
  constructor(readonly code: CameraErrorCode, readonly cause?: unknown) {
    super(MESSAGES[code]);
  }
}

export function cameraError(err: unknown): CameraError {
  const name = (err as { name?: string } | null)?.name ?? "";
  if (name === "NotAllowedError" || name === "SecurityError" || name === "PermissionDeniedError") return new CameraError("denied", err);
  if (name === "NotFoundError" || name === "OverconstrainedError" || name === "DevicesNotFoundError") return new CameraError("no_camera", err);
  if (name === "NotReadableError" || name === "TrackStartError" || name === "AbortError") return new CameraError("busy", err);
  return new CameraError("failed", err);
}

export class Camera {
  stream: MediaStream | null = null;
  label = "";
  virtual = false;
  private preview: HTMLVideoElement | null = null;

  /** Open the front camera; throws CameraError with a Chinese message for the learner. */
  async open(): Promise<void> {
    if (this.stream) return;
    const md = typeof navigator !== "undefined" ? navigator.mediaDevices : undefined;
    if (!md || typeof md.getUserMedia !== "function") throw new CameraError("unsupported");
    try {
      this.stream = await md.getUserMedia({
        audio: false,
        // the front camera at its own size and orientation (portrait on phones): no crop
        video: { facingMode: "user" },
      });
    } catch (err) {
      throw cameraError(err);
    }
    const track = this.stream.getVideoTracks()[0];
    this.label = track ? track.label : "";
    this.virtual = looksVirtual(this.label);
  }

  /** Show the live picture in ``el`` (muted, inline: iOS Safari needs playsinline, WeChat's and
   * QQ's X5 browser on Android x5-playsinline, or they take the preview full screen). */
  async attach(el: HTMLVideoElement): Promise<void> {
    if (!this.stream) throw new CameraError("failed");
    this.preview = el;
    el.muted = true;
    el.playsInline = true;
    el.setAttribute("playsinline", "");
    el.setAttribute("webkit-playsinline", "");
    el.setAttribute("x5-playsinline", "");
    el.srcObject = this.stream;
    await el.play().catch(() => undefined);
    if (!el.videoWidth) {
      await new Promise<void>((resolve) => {
        const done = () => resolve();
        el.addEventListener("loadedmetadata", done, { once: true });
        setTimeout(done, 3000);
      });
    }
  }

  /** One JPEG of what the camera sees now (its own orientation: portrait on phones). */
  capture(quality = 0.9): Promise<Blob> {
    const el = this.preview;
    if (!el || !el.videoWidth) return Promise.reject(new CameraError("failed"));
    const scale = Math.min(1, 960 / Math.max(el.videoWidth, el.videoHeight));
    const canvas = document.createElement("canvas");
    canvas.width = Math.round(el.videoWidth * scale);
    canvas.height = Math.round(el.videoHeight * scale);
    const ctx = canvas.getContext("2d");
    if (!ctx) return Promise.reject(new CameraError("failed"));
    ctx.drawImage(el, 0, 0, canvas.width, canvas.height);
    return new Promise((resolve, reject) =>
      canvas.toBlob((b) => (b ? resolve(b) : reject(new CameraError("failed"))), "image/jpeg", quality));
  }

  /** ``count`` frames ``intervalMs`` apart (a liveness burst). */
  async burst(count: number, intervalMs: number, onFrame?: (i: number) => void): Promise<Blob[]> {
    const frames: Blob[] = [];
    const start = performance.now();
    for (let i = 0; i < count; i++) {
      const due = start + i * intervalMs;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      frames.push(await this.capture(0.85));
      if (onFrame) onFrame(i);
    }
    return frames;
  }

  close(): void {
    if (this.stream) this.stream.getTracks().forEach((t) => t.stop());
    this.stream = null;
    if (this.preview) this.preview.srcObject = null;
    this.preview = null;
  }
}
