/** The CONTRACT's telemetry events (CONTRACT §3), as the SDK sends them. */
export type EventType =
  | "play" | "pause" | "seek" | "ratechange" | "heartbeat" | "visibility" | "focus"
  | "lesson.complete" | "session.end";

export interface ProctorEvent {
  /** unique id: the idempotency key, kept across retries and reloads */
  id: string;
  session_id: string;
  /** per-session counter from 1 */
  seq: number;
  /** client time, RFC 3339 with offset and milliseconds */
  ts: string;
  type: EventType;
  [field: string]: unknown;
}

/** What the SDK needs of a player. Adapters exist for <video>, video.js and xgplayer. */
export interface PlayerAdapter {
  /** media seconds */
  position(): number;
  rate(): number;
  paused(): boolean;
  duration(): number;
  play(): void;
  pause(): void;
  /** subscribe to a player event; returns an unsubscribe function */
  on(event: PlayerEventName, handler: () => void): () => void;
}

export type PlayerEventName = "play" | "pause" | "seeking" | "ratechange" | "ended" | "timeupdate";

/** A challenge (弹窗) as GET /v1/sessions/{id}/challenge returns it. */
export interface Challenge {
  challenge_id: string;
  kind: "confirm" | "photo" | "liveness";
  prompt: string;
  issued_at: string;
  expires_at: string;
  action?: string | null;
  /** liveness: [min, max] frames of the burst */
  frames?: [number, number] | null;
  /** liveness: the spacing of the burst's frames, in milliseconds */
  frame_interval_ms?: number | null;
  answer_url: string;
}

/** POST /v1/challenges/{id}/photo's answer (and GET /v1/challenges/{id}). */
export interface ChallengeState {
  challenge_id: string;
  kind: string;
  status: string;
  reasons: string[];
  retries_left?: number | null;
  photos: { photo_id: string; frame_index: number; outcome: string; reasons: string[] }[];
}

export interface Verdict {
  session_id: string;
  status: "pending" | "valid" | "invalid" | "under_review";
  credited_seconds: number;
  violations: { rule: string; at: string; until: string; detail: string; evidence: unknown[] }[];
  policy_version: string;
  pending_reasons?: string[];
}

/** A minimal Storage (window.localStorage fits). */
export interface KeyValueStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}
