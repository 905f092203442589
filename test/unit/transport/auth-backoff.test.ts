import { describe, expect, it } from "vitest";
import { peerSocketUrl } from "../../../src/transport/auth.js";
import { backoffDelayMs, checkBackoffOptions } from "../../../src/transport/backoff.js";

describe("peerSocketUrl", () => {
  it("maps http(s) base URLs to ws(s)://.../raft", () => {
    expect(peerSocketUrl("http://127.0.0.1:7001")).toBe("ws://127.0.0.1:7001/raft");
    expect(peerSocketUrl("https://node.example:443/base/")).toBe("wss://node.example/base/raft");
    expect(() => peerSocketUrl("ftp://x")).toThrow(/http/);
    expect(() => peerSocketUrl("not a url")).toThrow();
  });
});

describe("backoffDelayMs", () => {
  const options = { initialMs: 50, maxMs: 2_000, jitter: 0.2 };
  it("doubles from initialMs up to maxMs, never above it", () => {
    const noJitter = { ...options, jitter: 0 };
    expect([1, 2, 3, 4, 5, 6, 7, 100].map((n) => backoffDelayMs(noJitter, n))).toEqual([50, 100, 200, 400, 800, 1600, 2000, 2000]);
  });
  it("jitter only shortens, by at most the jitter fraction", () => {
    expect(backoffDelayMs(options, 3, () => 0)).toBe(200);
    expect(backoffDelayMs(options, 3, () => 0.999999)).toBe(160);
    expect(backoffDelayMs(options, 50, () => 0.5)).toBe(1800);
  });
  it("rejects nonsense options", () => {
    expect(() => checkBackoffOptions({ initialMs: 0, maxMs: 10, jitter: 0 })).toThrow();
    expect(() => checkBackoffOptions({ initialMs: 10, maxMs: 5, jitter: 0 })).toThrow();
    expect(() => checkBackoffOptions({ initialMs: 10, maxMs: 50, jitter: 2 })).toThrow();
  });
});
