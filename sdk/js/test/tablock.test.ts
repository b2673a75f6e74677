import { afterEach, describe, expect, it } from "vitest";
import { TabLock } from "../src/tablock";
import { MemoryStore } from "../src/queue";
import { cameraError, looksVirtual } from "../src/camera";

const locks: TabLock[] = [];
function lock(learner: string, onLost: (by: string) => void): TabLock {
  const l = new TabLock(learner, onLost, { store: new MemoryStore() });
  locks.push(l);
  return l;
}
const settle = () => new Promise((r) => setTimeout(r, 50));

afterEach(() => { locks.splice(0).forEach((l) => l.close()); });

describe("TabLock (BroadcastChannel)", () => {
  it("a second tab that starts studying pauses the first, and back again", async () => {
    const lost: string[] = [];
    const first = lock("stu-1", () => lost.push("first"));
    const second = lock("stu-1", () => lost.push("second"));
    first.claim();
    await settle();
    expect(lost).toEqual(["second"]);
    second.claim();
    await settle();
    expect(lost).toEqual(["second", "first"]);
  });

  it("tabs of other learners are left alone", async () => {
    const lost: string[] = [];
    lock("stu-1", () => lost.push("stu-1"));
    lock("stu-2", () => lost.push("stu-2")).claim();
    await settle();
    expect(lost).toEqual([]);
  });

  it("a tab is never paused by its own claim", async () => {
    const lost: string[] = [];
    const only = lock("stu-1", () => lost.push("only"));
    only.claim();
    only.claim();
    await settle();
    expect(lost).toEqual([]);
  });
});

describe("camera evidence and messages", () => {
  it("flags virtual cameras by label, as evidence only", () => {
    expect(looksVirtual("OBS Virtual Camera")).toBe(true);
    expect(looksVirtual("ManyCam Virtual Webcam")).toBe(true);
    expect(looksVirtual("Integrated Webcam (0bda:58f4)")).toBe(false);
    expect(looksVirtual("FaceTime HD Camera")).toBe(false);
  });

  it("says in Chinese why the camera cannot be used", () => {
    const denied = cameraError({ name: "NotAllowedError" });
    expect(denied.code).toBe("denied");
    expect(denied.message).toContain("未获得摄像头权限");
    expect(cameraError({ name: "NotFoundError" }).message).toContain("未检测到摄像头");
    expect(cameraError({ name: "NotReadableError" }).code).toBe("busy");
  });
});
