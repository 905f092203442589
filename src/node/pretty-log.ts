// `raftsched start --pretty`: the same pino records, one readable line each, for a person at a terminal.
// JSON lines stay the default because that is what log shippers read.
import { Writable } from "node:stream";

const LEVELS: Record<number, string> = { 10: "TRACE", 20: "DEBUG", 30: "INFO ", 40: "WARN ", 50: "ERROR", 60: "FATAL" };
const COLORS: Record<number, string> = { 40: "\x1b[33m", 50: "\x1b[31m", 60: "\x1b[31m" };

export function formatLogLine(line: string, color: boolean): string {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const { level, time, node, msg, ...rest } = rec;
  const t = typeof time === "number" ? new Date(time).toISOString().slice(11, 23) : "";
  const lv = typeof level === "number" ? (LEVELS[level] ?? String(level)) : "";
  const extra = Object.keys(rest).length > 0 ? ` ${JSON.stringify(rest)}` : "";
  const text = `${t} ${lv} [${String(node ?? "-")}] ${String(msg ?? "")}${extra}`;
  const c = typeof level === "number" ? COLORS[level] : undefined;
  return color && c ? `${c}${text}\x1b[0m` : text;
}

export function prettyStream(out: NodeJS.WritableStream = process.stdout): Writable {
  const color = (out as { isTTY?: boolean }).isTTY === true;
  let pending = "";
  return new Writable({
    write(chunk: Buffer, _enc, done) {
      pending += chunk.toString("utf8");
      let nl: number;
      while ((nl = pending.indexOf("\n")) >= 0) {
        out.write(formatLogLine(pending.slice(0, nl), color) + "\n");
        pending = pending.slice(nl + 1);
      }
      done();
    },
  });
}
