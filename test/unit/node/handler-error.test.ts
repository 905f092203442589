import { describe, expect, it } from "vitest";
import { handlerErrorValue } from "../../../src/node/handler-error.js";

describe("handlerErrorValue", () => {
  it("an Error gives its code (TASK_FAILED by default) and message", () => {
    expect(handlerErrorValue(Object.assign(new Error("boom"), { code: "E_BOOM" }))).toEqual({ code: "E_BOOM", message: "boom" });
    expect(handlerErrorValue(new TypeError("bad"))).toEqual({ code: "TASK_FAILED", message: "bad" });
  });

  it("a plain object keeps its JSON fields, with code and message filled in when missing", () => {
    expect(handlerErrorValue({ code: "MY_CODE", detail: 7 })).toEqual({ code: "MY_CODE", detail: 7, message: "the handler threw an object that is not an Error" });
    expect(handlerErrorValue({ message: "m", nested: { a: [1, 2] }, dropped: undefined })).toEqual({ code: "TASK_FAILED", message: "m", nested: { a: [1, 2] } });
    expect(handlerErrorValue({ code: 42 })).toEqual({ code: "TASK_FAILED", message: "the handler threw an object that is not an Error" });
  });

  it("values that are not objects become the message; what JSON cannot carry is named", () => {
    expect(handlerErrorValue("oops")).toEqual({ code: "TASK_FAILED", message: "oops" });
    expect(handlerErrorValue(7)).toEqual({ code: "TASK_FAILED", message: "7" });
    expect(handlerErrorValue(undefined)).toEqual({ code: "TASK_FAILED", message: "the handler threw undefined" });
    expect(handlerErrorValue([1, 2])).toEqual({ code: "TASK_FAILED", message: "1,2" });
    const cycle: Record<string, unknown> = { code: "C" };
    cycle.self = cycle;
    expect(handlerErrorValue(cycle)).toEqual({ code: "TASK_FAILED", message: "the handler threw an object that cannot be stored as JSON" });
    expect(handlerErrorValue({ big: 1n })).toMatchObject({ code: "TASK_FAILED" });
  });
});
