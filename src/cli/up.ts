// `raftsched up`: every node of a cluster file as a child process, and a live view of the cluster.
// Each child's logs go to <data-dir>/<id>.log so the table stays readable; Ctrl-C stops them all.
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { loadClusterFile, type ClusterFile } from "../config/cluster-file.js";
import { httpJson } from "./http-client.js";
import { configPathOr, parseArgs, stringFlag } from "./args.js";
import { startDemoWorkload, type DemoWorkload } from "./demo.js";

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../bin/raftsched.js");
const REFRESH_MS = 500;

interface Child {
  readonly id: string;
  readonly url: string;
  proc: ChildProcess | null;
  exit: string | null;
  /** The last line the node wrote to stderr: why it failed, when it could not start. */
  lastError: string;
}

interface NodeView {
  role: string;
  term: number;
  leaderId: string | null;
  commitIndex: number;
  appliedIndex: number;
  completedTasks?: number;
  tasks?: { pending: number; assigned: number; completed: number; dead: number; cancelled: number; total: number };
}

interface WorkerView {
  id: string;
  alive: boolean;
  active: number;
  capacity: number;
}

export async function upCommand(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, { config: "string", "data-dir": "string", demo: "boolean", pretty: "boolean" }, "up");
  const configPath = configPathOr(stringFlag(args, "config"));
  const cfg = loadClusterFile(configPath);
  const dataRoot = path.resolve(stringFlag(args, "data-dir") ?? "data");
  mkdirSync(dataRoot, { recursive: true });

  const children: Child[] = cfg.nodes.map((n) => ({ id: n.id, url: n.url, proc: null, exit: null, lastError: "" }));
  for (const c of children) spawnChild(c, configPath, dataRoot);

  const tty = process.stdout.isTTY === true;
  let demo: DemoWorkload | null = null;
  // The demo starts once the cluster has elected its first leader.
  const leaderSeen = { value: false };
  if (args.flags.demo) demo = startDemoWorkload(cfg, () => (leaderSeen.value ? children.filter((c) => c.proc && !c.exit).map((c) => c.url) : []));

  let stopping = false;
  let lastPlain = "";
  let lastPlainAt = 0;
  const render = async (): Promise<void> => {
    const frame = await renderFrame(cfg, children, dataRoot, demo, leaderSeen);
    if (tty) {
      process.stdout.write("\x1b[H\x1b[2J" + frame + "\n");
    } else {
      // Not a terminal: print when something changed, or every 5 s.
      const key = frame.replace(/\d+ms|\d+\.\d+s/g, "");
      if (key !== lastPlain || Date.now() - lastPlainAt > 5000) {
        process.stdout.write(frame + "\n\n");
        lastPlain = key;
        lastPlainAt = Date.now();
      }
    }
  };

  return await new Promise<number>((resolve) => {
    const timer = setInterval(() => {
      if (stopping) return;
      // Every node exited before any leader was seen: they cannot start (ports taken, a bad handler...). Say why
      // and exit instead of drawing a cluster that is not there.
      if (!leaderSeen.value && children.every((c) => c.exit !== null)) {
        stopping = true;
        clearInterval(timer);
        demo?.stop();
        const why = children.map((c) => `  ${c.id}: ${c.lastError || c.exit}`).join("\n");
        process.stderr.write(`raftsched up: no node could start (logs in ${dataRoot}):\n${why}\n`);
        resolve(1);
        return;
      }
      void render();
    }, REFRESH_MS);
    const stop = async (): Promise<void> => {
      if (stopping) return;
      stopping = true;
      clearInterval(timer);
      demo?.stop();
      process.stdout.write("\nstopping all nodes…\n");
      await Promise.all(children.map((c) => stopChild(c)));
      process.stdout.write("all nodes stopped.\n");
      resolve(0);
    };
    process.on("SIGINT", () => void stop());
    process.on("SIGTERM", () => void stop());
  });
}

function spawnChild(c: Child, configPath: string, dataRoot: string): void {
  const log = createWriteStream(path.join(dataRoot, `${c.id}.log`), { flags: "a" });
  const proc = spawn(process.execPath, [BIN, "start", "--config", configPath, "--id", c.id, "--data-dir", path.join(dataRoot, c.id)], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  proc.stdout?.pipe(log);
  proc.stderr?.pipe(log);
  proc.stderr?.on("data", (d: Buffer) => {
    const lines = d.toString("utf8").split("\n").filter((l) => l.trim().length > 0);
    if (lines.length > 0) c.lastError = lines[lines.length - 1]!.slice(0, 300);
  });
  c.proc = proc;
  c.exit = null;
  proc.on("exit", (code, signal) => {
    c.exit = signal ? `killed by ${signal}` : `exited ${code}${code !== 0 && c.lastError ? `: ${c.lastError}` : ""}`;
  });
}

async function stopChild(c: Child): Promise<void> {
  const p = c.proc;
  if (!p || c.exit) return;
  await new Promise<void>((resolve) => {
    const hard = setTimeout(() => {
      p.kill("SIGKILL");
    }, 8000);
    p.once("exit", () => {
      clearTimeout(hard);
      resolve();
    });
    p.kill("SIGTERM");
  });
}

async function renderFrame(
  cfg: ClusterFile,
  children: Child[],
  dataRoot: string,
  demo: DemoWorkload | null,
  leaderSeen: { value: boolean },
): Promise<string> {
  const views = await Promise.all(
    children.map(async (c) => {
      if (c.exit) return null;
      try {
        const r = await httpJson<NodeView>(`${c.url}/v1/status`, { timeoutMs: 400 });
        return r.status === 200 ? r.body : null;
      } catch {
        return null;
      }
    }),
  );
  const leaderIdx = views.findIndex((v) => v?.role === "leader");
  if (leaderIdx >= 0) leaderSeen.value = true;
  let workers: WorkerView[] = [];
  const source = leaderIdx >= 0 ? children[leaderIdx]! : children.find((_, i) => views[i]);
  if (source) {
    try {
      const r = await httpJson<WorkerView[]>(`${source.url}/v1/workers`, { timeoutMs: 400 });
      if (r.status === 200 && Array.isArray(r.body)) workers = r.body;
    } catch {
      /* shown as blanks */
    }
  }
  const rows: string[][] = [["", "node", "pid", "url", "role", "term", "commit", "applied", "worker", "active", "done"]];
  children.forEach((c, i) => {
    const v = views[i];
    const w = workers.find((x) => x.id === c.id);
    rows.push([
      v?.role === "leader" ? "★" : "",
      c.id,
      String(c.proc?.pid ?? "-"),
      c.url,
      c.exit ? `down (${c.exit})` : (v?.role ?? "unreachable"),
      v ? String(v.term) : "-",
      v ? String(v.commitIndex) : "-",
      v ? String(v.appliedIndex) : "-",
      w ? (w.alive ? "alive" : "dead") : "-",
      w ? `${w.active}/${w.capacity}` : "-",
      v?.completedTasks !== undefined ? String(v.completedTasks) : "-",
    ]);
  });
  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((r) => r[col]!.length)));
  const table = rows.map((r) => r.map((cell, col) => cell.padEnd(widths[col]!)).join("  ")).join("\n");
  const leader = leaderIdx >= 0 ? children[leaderIdx]! : null;
  const lines = [
    `raftsched up — cluster "${cfg.cluster}", ${children.length} nodes, strategy ${cfg.strategy}, logs in ${dataRoot}/<id>.log`,
    "",
    table,
    "",
    leader
      ? `leader: ${leader.id} (pid ${leader.proc?.pid}). Try: kill -9 ${leader.proc?.pid}  — another node takes over.`
      : "no leader yet (electing)…",
  ];
  const counts = leaderIdx >= 0 ? views[leaderIdx]?.tasks : undefined;
  if (counts) {
    lines.push(`tasks: ${counts.total} in all — ${counts.pending} pending, ${counts.assigned} assigned, ${counts.completed} completed, ${counts.dead} dead, ${counts.cancelled} cancelled`);
  }
  if (demo) lines.push(demo.summary());
  lines.push("Ctrl-C stops every node.");
  return lines.join("\n");
}
