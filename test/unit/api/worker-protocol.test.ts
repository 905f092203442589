// The worker protocol's frame validation (src/api/worker-protocol.ts): every bad frame gets a stable code.
import { describe, expect, it } from "vitest";
import { parseWorkerFrame } from "../../../src/api/worker-protocol.js";

const code = (text: string) => {
  const r = parseWorkerFrame(text);
  return r.ok ? "ok" : `${r.code}${r.close ? " close" : ""}`;
};

describe("parseWorkerFrame", () => {
  it("takes the documented frames", () => {
    const r = parseWorkerFrame(JSON.stringify({ type: "register", v: 1, id: "w-1", capacity: 3, tags: ["b", "a", "b"], running: [{ taskId: "t", attempt: 1 }] }));
    expect(r).toEqual({ ok: true, frame: { type: "register", id: "w-1", capacity: 3, tags: ["a", "b"], running: [{ taskId: "t", attempt: 1 }] } });
    expect(code('{"type":"heartbeat"}')).toBe("ok");
    expect(code('{"type":"complete","taskId":"t1","attempt":1,"result":{"x":1}}')).toBe("ok");
    expect(code('{"type":"fail","taskId":"t1","attempt":2}')).toBe("ok");
    expect(code('{"type":"drain"}')).toBe("ok");
  });

  it("malformed frames close; unknown types and fields do not", () => {
    expect(code("nope")).toBe("BAD_FRAME close");
    expect(code("[1]")).toBe("BAD_FRAME close");
    expect(code('{"type":3}')).toBe("BAD_FRAME close");
    expect(code('{"type":"toString"}')).toBe("UNKNOWN_TYPE");
    expect(code('{"type":"heartbeat","x":1}')).toBe("BAD_FIELD");
    expect(code('{"type":"complete","taskId":"t1","attempt":0}')).toBe("BAD_FIELD");
    expect(code('{"type":"complete","taskId":"bad id","attempt":1}')).toBe("BAD_FIELD");
  });

  it("registration problems close the connection", () => {
    expect(code('{"type":"register","v":2,"id":"w"}')).toBe("UNSUPPORTED_VERSION close");
    expect(code(`{"type":"register","v":1,"id":"${"w".repeat(129)}"}`)).toBe("BAD_WORKER_ID close");
    expect(code('{"type":"register","v":1,"id":"w","capacity":-1}')).toBe("BAD_FIELD close");
    expect(code('{"type":"register","v":1,"id":"w","tags":["a b"]}')).toBe("BAD_FIELD close");
  });

  it("a result over 1 MiB: RESULT_TOO_LARGE, naming the task", () => {
    const r = parseWorkerFrame(JSON.stringify({ type: "complete", taskId: "t9", attempt: 1, result: "x".repeat(1024 * 1024) }));
    expect(r).toMatchObject({ ok: false, code: "RESULT_TOO_LARGE", close: false, taskId: "t9" });
  });

  it("progress: any JSON value up to 4 KiB; a bad one is BAD_PROGRESS naming no task (a report's answer would)", () => {
    const r = parseWorkerFrame('{"type":"progress","taskId":"t1","attempt":2,"progress":{"done":3,"of":10}}');
    expect(r).toEqual({ ok: true, frame: { type: "progress", taskId: "t1", attempt: 2, progress: { done: 3, of: 10 } } });
    expect(code('{"type":"progress","taskId":"t1","attempt":1,"progress":0.5}')).toBe("ok");
    for (const bad of [
      '{"type":"progress","taskId":"t1","attempt":1}',
      '{"type":"progress","taskId":"t1","attempt":0,"progress":1}',
      '{"type":"progress","taskId":"bad id","attempt":1,"progress":1}',
      '{"type":"progress","taskId":"t1","attempt":1,"progress":1,"extra":true}',
      JSON.stringify({ type: "progress", taskId: "t1", attempt: 1, progress: "x".repeat(4097) }),
    ]) {
      const p = parseWorkerFrame(bad);
      expect(p, bad.slice(0, 80)).toMatchObject({ ok: false, code: "BAD_PROGRESS", close: false });
      expect(p, bad.slice(0, 80)).not.toHaveProperty("taskId");
    }
  });
});
