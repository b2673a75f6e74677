import type { PlayerAdapter, PlayerEventName } from "./types";

/** An HTML5 <video> (or <audio>). Sets playsinline so iOS Safari and WeChat play it in the page. */
export function html5Adapter(video: HTMLMediaElement): PlayerAdapter {
  if (video instanceof HTMLVideoElement) {
    video.playsInline = true;
    video.setAttribute("playsinline", "");
    video.setAttribute("webkit-playsinline", "");
    video.setAttribute("x5-playsinline", ""); // the X5 engine of WeChat / QQ on Android
  }
  return {
    position: () => video.currentTime,
    rate: () => video.playbackRate,
    paused: () => video.paused,
    duration: () => video.duration,
    play: () => { void video.play()?.catch(() => undefined); },
    pause: () => video.pause(),
    on(event: PlayerEventName, handler: () => void) {
      video.addEventListener(event, handler);
      return () => video.removeEventListener(event, handler);
    },
  };
}

/** The part of a video.js player the SDK uses (https://videojs.com). */
export interface VideoJsLike {
  currentTime(): number;
  playbackRate(): number;
  paused(): boolean;
  duration(): number;
  play(): unknown;
  pause(): unknown;
  on(event: string, fn: () => void): unknown;
  off(event: string, fn: () => void): unknown;
}

export function videojsAdapter(player: VideoJsLike): PlayerAdapter {
  return {
    position: () => player.currentTime(),
    rate: () => player.playbackRate(),
    paused: () => player.paused(),
    duration: () => player.duration(),
    play: () => { const p = player.play() as Promise<unknown> | undefined; p?.catch?.(() => undefined); },
    pause: () => { player.pause(); },
    on(event, handler) {
      player.on(event, handler);
      return () => { player.off(event, handler); };
    },
  };
}

/** The part of an xgplayer (西瓜播放器, https://h5player.bytedance.com) the SDK uses. */
export interface XgplayerLike {
  currentTime: number;
  playbackRate: number;
  paused: boolean;
  duration: number;
  play(): unknown;
  pause(): unknown;
  on(event: string, fn: () => void): unknown;
  off(event: string, fn: () => void): unknown;
}

export function xgplayerAdapter(player: XgplayerLike): PlayerAdapter {
  return {
    position: () => player.currentTime,
    rate: () => player.playbackRate,
    paused: () => player.paused,
    duration: () => player.duration,
    play: () => { const p = player.play() as Promise<unknown> | undefined; p?.catch?.(() => undefined); },
    pause: () => { player.pause(); },
    on(event, handler) {
      player.on(event, handler);
      return () => { player.off(event, handler); };
    },
  };
}
