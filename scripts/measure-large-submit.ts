// Per-stage CPU time of one body-limit (1 MiB) submit, on the production functions, in one process: which
// synchronous stage can hold a node's event loop past the election timeout (150 ms in the test clusters).
// Run it under load to see the stages stretch, e.g. with two busy loops on a 2-core machine:
//   for i in 1 2; do node -e 'for(;;){}' & done; npx tsx scripts/measure-large-submit.ts; kill %1 %2
//   npx tsx scripts/measure-large-submit.ts [--rounds 5]
import { MAX_BODY_BYTES } from "../src/api/http-util.js";
import { parseSubmit } from "../src/api/router.js";
import { decodeCommand, encodeCommand } from "../src/scheduler/commands.js";
import { TaskTable } from "../src/scheduler/table.js";
import { encodeEntry } from "../src/storage/codec.js";
import { decodeFrame, encodeFrame } from "../src/transport/codec.js";
import type { Message } from "../src/raft/types.js";

const roundsArg = process.argv.indexOf("--rounds");
const rounds = roundsArg > 0 ? Number(process.argv[roundsArg + 1]) : 5;

/** The deep-json test's body: `{"payload":[1e20,...]}` of exactly MAX_BODY_BYTES (re-serializes ~4× larger). */
function numbersBody(size: number): Buffer {
  const head = `{"id":"big","payload":[`;
  const text = `${head}${Array<string>(Math.floor((size - head.length - 2) / 5)).fill("1e20").join(",")}]`;
  return Buffer.from(`${text}${" ".repeat(size - text.length - 1)}}`);
}
/** Many small objects: the parse and the command encode/decode work per value. */
function objectsBody(size: number): Buffer {
  const head = `{"id":"big","payload":{"items":[`;
  const item = `{"k":"abcdefgh","n":12345,"b":true}`;
  const count = Math.floor((size - head.length - 3) / (item.length + 1));
  const text = `${head}${Array<string>(count).fill(item).join(",")}]}`;
  return Buffer.from(`${text}${" ".repeat(size - text.length - 1)}}`);
}
/** Invalid UTF-8: every byte decodes to U+FFFD (three bytes each once re-encoded). */
function invalidUtf8Body(size: number): Buffer {
  const head = Buffer.from(`{"id":"big","payload":"`);
  return Buffer.concat([head, Buffer.alloc(size - head.length - 2, 0xff), Buffer.from('"}')]);
}

function time<T>(stages: Map<string, number[]>, name: string, f: () => T): T {
  const t0 = performance.now();
  const v = f();
  const ms = performance.now() - t0;
  stages.set(name, [...(stages.get(name) ?? []), ms]);
  return v;
}

for (const [label, body] of [["numbers", numbersBody(MAX_BODY_BYTES)], ["objects", objectsBody(MAX_BODY_BYTES)], ["invalid-utf8", invalidUtf8Body(MAX_BODY_BYTES)]] as const) {
  const stages = new Map<string, number[]>();
  for (let r = 0; r < rounds; r++) {
    const text = time(stages, "1 body utf8 decode", () => body.toString("utf8"));
    const parsed = time(stages, "2 JSON.parse", () => JSON.parse(text) as unknown);
    const input = time(stages, "3 parseSubmit (validate)", () => parseSubmit(parsed));
    const cmd = { type: "submit" as const, id: `big-${r}`, payload: input.payload, priority: 0, maxAttempts: 3, nowMs: 1 };
    const data = time(stages, "4 encodeCommand (leader)", () => encodeCommand(cmd));
    const entry = { term: 1, index: 2, kind: "normal" as const, data };
    time(stages, "5 encodeEntry (storage)", () => encodeEntry(entry));
    const append: Message = { type: "append", from: "n1", to: "n2", term: 1, prevLogIndex: 1, prevLogTerm: 1, entries: [entry], commit: 1 };
    const frame = time(stages, "6 encodeFrame (send)", () => encodeFrame(append));
    if (!frame.ok) throw new Error(frame.reason);
    time(stages, "7 decodeFrame (follower)", () => decodeFrame(frame.bytes));
    const decoded = time(stages, "8 decodeCommand (apply)", () => decodeCommand(data));
    if (!decoded.ok) throw new Error(decoded.message);
    const table = new TaskTable();
    const res = time(stages, "9 table.apply", () => table.apply(2, decoded.command));
    const answer = time(stages, "10 JSON.stringify answer", () => JSON.stringify(res));
    // A follower that forwarded the submit: today it parses the leader's answer and serializes it again.
    const reparsed = time(stages, "11 follower JSON.parse answer", () => JSON.parse(answer) as unknown);
    time(stages, "12 follower JSON.stringify", () => JSON.stringify(reparsed));
  }
  console.log(`${label} body of ${body.length} bytes, ${rounds} rounds (ms: median / max):`);
  for (const [name, ms] of stages) {
    const sorted = [...ms].sort((a, b) => a - b);
    console.log(`  ${name.padEnd(28)} ${sorted[Math.floor(sorted.length / 2)]!.toFixed(1).padStart(7)} / ${sorted[sorted.length - 1]!.toFixed(1).padStart(7)}`);
  }
}
