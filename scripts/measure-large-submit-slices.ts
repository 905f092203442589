// The longest single event-loop turn of each CPU-heavy stage of a body-limit (1 MiB) submit, one call (before
// issue 14.3's slicing) against the sliced production code (after): body parse, command encode on the leader,
// command decode on a follower. Measured as CPU time of this process per turn (process.cpuUsage), so a loaded
// machine that delays the process does not inflate it; wall time is printed beside it.
//   npx tsx scripts/measure-large-submit-slices.ts [--rounds 5]
import { MAX_BODY_BYTES } from "../src/api/http-util.js";
import { parseJsonInSlices } from "../src/api/json-parse-slices.js";
import { decodeCommand, encodeCommand, type Command } from "../src/scheduler/commands.js";
import { SlicedCommandDecoder, SlicedCommandEncoder } from "../src/scheduler/large-command-codec.js";

const roundsArg = process.argv.indexOf("--rounds");
const rounds = roundsArg > 0 ? Number(process.argv[roundsArg + 1]) : 5;

function body(kind: "numbers" | "objects"): string {
  const head = kind === "numbers" ? `{"id":"big","payload":[` : `{"id":"big","payload":{"items":[`;
  const item = kind === "numbers" ? "1e20" : `{"k":"abcdefgh","n":12345,"b":true}`;
  const tail = kind === "numbers" ? "]" : "]}";
  const count = Math.floor((MAX_BODY_BYTES - head.length - tail.length - 1) / (item.length + 1));
  const text = `${head}${Array<string>(count).fill(item).join(",")}${tail}`;
  return `${text}${" ".repeat(MAX_BODY_BYTES - text.length - 1)}}`;
}

const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** Runs `work`, which yields through `turn()`; returns the longest stretch between two yields (cpu and wall ms). */
async function longestTurn(work: (turn: () => Promise<void>) => Promise<unknown>): Promise<{ cpu: number; wall: number }> {
  let [c0, w0, cpu, wall] = [cpuMs(), performance.now(), 0, 0];
  const turn = async (): Promise<void> => {
    [cpu, wall] = [Math.max(cpu, cpuMs() - c0), Math.max(wall, performance.now() - w0)];
    await new Promise<void>((r) => setImmediate(r));
    [c0, w0] = [cpuMs(), performance.now()];
  };
  await work(turn);
  await turn();
  return { cpu, wall };
}

async function slicedEncode(c: Command, turn: () => Promise<void>): Promise<void> {
  const e = new SlicedCommandEncoder(c);
  let t = performance.now();
  while (!e.step(1024)) if (performance.now() - t >= 4) [await turn(), (t = performance.now())];
}

async function slicedDecode(bytes: Uint8Array, turn: () => Promise<void>): Promise<void> {
  const d = new SlicedCommandDecoder(bytes);
  let t = performance.now();
  while (!d.step(1024)) if (performance.now() - t >= 4) [await turn(), (t = performance.now())];
}

for (const kind of ["numbers", "objects"] as const) {
  const text = body(kind);
  const rows = new Map<string, Array<{ cpu: number; wall: number }>>();
  const add = (name: string, v: { cpu: number; wall: number }): void => void rows.set(name, [...(rows.get(name) ?? []), v]);
  for (let r = 0; r < rounds; r++) {
    const value = JSON.parse(text) as { payload: never };
    const cmd: Command = { type: "submit", id: "big", payload: value.payload, priority: 0, maxAttempts: 3, nowMs: 1 };
    const bytes = encodeCommand(cmd);
    add("parse: JSON.parse", await longestTurn(async () => JSON.parse(text)));
    add("parse: sliced", await longestTurn((turn) => parseJsonInSlices(text, { yieldNow: turn })));
    add("encode: encodeCommand", await longestTurn(async () => encodeCommand(cmd)));
    add("encode: sliced", await longestTurn((turn) => slicedEncode(cmd, turn)));
    add("decode: decodeCommand", await longestTurn(async () => decodeCommand(bytes)));
    add("decode: sliced", await longestTurn((turn) => slicedDecode(bytes, turn)));
  }
  console.log(`${kind} body (${text.length} bytes), longest turn over ${rounds} rounds, ms (median / max): cpu | wall`);
  for (const [name, list] of rows) {
    const med = (k: "cpu" | "wall"): string => [...list].map((x) => x[k]).sort((a, b) => a - b)[Math.floor(list.length / 2)]!.toFixed(1);
    const max = (k: "cpu" | "wall"): string => Math.max(...list.map((x) => x[k])).toFixed(1);
    console.log(`  ${name.padEnd(24)} ${med("cpu").padStart(6)} / ${max("cpu").padStart(6)} | ${med("wall").padStart(6)} / ${max("wall").padStart(6)}`);
  }
}
