import type { Challenge, ChallengeState, ProctorEvent, Verdict } from "./types";
import type { SendOutcome } from "./queue";

export interface TokenInfo { token: string; expires_at?: string | null }

export interface ApiOptions {
  baseUrl: string;
  sessionId: string;
  token: string;
  tokenExpiresAt?: string | null;
  /** asked for a new token when the current one can no longer be renewed (your backend mints it) */
  refreshToken?: () => Promise<TokenInfo>;
  fetch?: typeof fetch;
}

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

/** proctor's browser endpoints, called with the session token (never a platform secret). */
export class Api {
  private token: string;
  private expiresAt: number | null;
  private renewTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly fetchFn: typeof fetch;

  constructor(private readonly opts: ApiOptions) {
    this.token = opts.token;
    this.expiresAt = opts.tokenExpiresAt ? Date.parse(opts.tokenExpiresAt) : null;
    this.fetchFn = opts.fetch ?? ((...a: Parameters<typeof fetch>) => fetch(...a));
    this.scheduleRenewal();
  }

  private url(path: string): string {
    return this.opts.baseUrl.replace(/\/$/, "") + path;
  }

  /** A request with the bearer token; an expired token is renewed (or refreshed) once. */
  async request(method: string, path: string, body?: unknown, init: RequestInit = {}): Promise<Response> {
    const send = () => {
      const headers: Record<string, string> = { Authorization: `Bearer ${this.token}` };
      let payload: BodyInit | undefined;
      if (body instanceof FormData) payload = body;
      else if (body !== undefined) {
        headers["Content-Type"] = "application/json";
        payload = JSON.stringify(body);
      }
      return this.fetchFn(this.url(path), { method, headers, body: payload, ...init });
    };
    let res = await send();
    if (res.status === 401 && (await this.recover(res))) res = await send();
    return res;
  }

  private async recover(res: Response): Promise<boolean> {
    let code = "";
    try { code = ((await res.clone().json()) as { error?: { code?: string } }).error?.code ?? ""; } catch { /* not JSON */ }
    if (code === "token_revoked") return false; // the session ended
    if (this.opts.refreshToken) {
      try {
        this.setToken(await this.opts.refreshToken());
        return true;
      } catch {
        return false;
      }
    }
    return false;
  }

  setToken(t: TokenInfo): void {
    this.token = t.token;
    this.expiresAt = t.expires_at ? Date.parse(t.expires_at) : null;
    this.scheduleRenewal();
  }

  /** Renew the token with itself (allowed while the session is open). */
  async renew(): Promise<boolean> {
    try {
      const res = await this.fetchFn(this.url(`/v1/sessions/${this.opts.sessionId}/token`), {
        method: "POST", headers: { Authorization: `Bearer ${this.token}` },
      });
      if (!res.ok) return false;
      this.setToken((await res.json()) as TokenInfo);
      return true;
    } catch {
      return false;
    }
  }

  private scheduleRenewal(): void {
    if (this.renewTimer) clearTimeout(this.renewTimer);
    this.renewTimer = null;
    if (this.expiresAt === null) return;
    // renew a minute before expiry (or at half the lifetime left, if shorter)
    const left = this.expiresAt - Date.now();
    const wait = Math.max(1000, Math.min(left - 60_000, left / 2));
    this.renewTimer = setTimeout(async () => {
      if (!(await this.renew())) {
        this.renewTimer = setTimeout(() => this.scheduleRenewal(), 15_000);
      }
    }, wait);
  }

  stop(): void {
    if (this.renewTimer) clearTimeout(this.renewTimer);
    this.renewTimer = null;
  }

  /** POST /v1/events: delivered when the server answered for every event (even rejected ones). */
  async postEvents(events: ProctorEvent[], keepalive = false): Promise<SendOutcome> {
    let res: Response;
    try {
      res = await this.request("POST", "/v1/events", { events }, keepalive ? { keepalive: true } : {});
    } catch (error) {
      return { ok: false, error };
    }
    if (res.status === 200) return { ok: true };
    if (res.status === 207 || res.status === 422) {
      const body = (await res.json().catch(() => ({}))) as { rejected?: { id: string; reason: string }[] };
      if (Array.isArray(body.rejected)) return { ok: true, rejected: body.rejected };
    }
    return { ok: false, status: res.status };
  }

  async challenge(): Promise<Challenge | null> {
    const res = await this.request("GET", `/v1/sessions/${this.opts.sessionId}/challenge`);
    if (res.status === 204) return null;
    if (!res.ok) throw await apiError(res);
    return (await res.json()) as Challenge;
  }

  async answer(challengeId: string, answer: string): Promise<string> {
    const res = await this.request("POST", `/v1/challenges/${challengeId}/answer`,
      { answer, answered_at: new Date().toISOString() });
    if (!res.ok) throw await apiError(res);
    return ((await res.json()) as { outcome: string }).outcome;
  }

  /** Upload a photo (one image) or a liveness burst; waits for the outcome when it is queued (202). */
  async photos(challengeId: string, images: Blob[], evidence: Record<string, string> = {}): Promise<ChallengeState> {
    const form = new FormData();
    images.forEach((img, i) => form.append("image", img, `frame-${i}.jpg`));
    for (const [k, v] of Object.entries(evidence)) form.append(k, v);
    const res = await this.request("POST", `/v1/challenges/${challengeId}/photo`, form);
    if (res.status === 202) return this.waitForOutcome(challengeId);
    if (!res.ok) throw await apiError(res);
    return (await res.json()) as ChallengeState;
  }

  private async waitForOutcome(challengeId: string): Promise<ChallengeState> {
    for (let i = 0; i < 60; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      const res = await this.request("GET", `/v1/challenges/${challengeId}`);
      if (!res.ok) throw await apiError(res);
      const state = (await res.json()) as ChallengeState;
      if (!state.photos.some((p) => p.outcome === "processing" || p.outcome === "pending")) return state;
    }
    throw new ApiError(504, "timeout", "照片分析超时");
  }

  async verdict(): Promise<Verdict> {
    const res = await this.request("GET", `/v1/sessions/${this.opts.sessionId}/verdict`);
    if (!res.ok) throw await apiError(res);
    return (await res.json()) as Verdict;
  }
}

async function apiError(res: Response): Promise<ApiError> {
  try {
    const e = ((await res.json()) as { error?: { code?: string; message?: string } }).error ?? {};
    return new ApiError(res.status, e.code ?? "error", e.message ?? res.statusText);
  } catch {
    return new ApiError(res.status, "error", res.statusText);
  }
}
