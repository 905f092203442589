// `raftsched up`: every node of a cluster file as a child process, and a live view of the cluster.
// Each child's logs go to <data-dir>/<id>.log so the table stays readable; Ctrl-C stops them all.
import { mkdirSync } from "node:fs";
import path from "node:path";
import { loadClusterFile, type ClusterFile } from "../config/cluster-file.js";
import { NodeProcess } from "../process-cluster/node-process.js";
import { httpJson } from "./http-client.js";
import { configPathOr, parseArgs, stringFlag } from "./args.js";
import { startDemoWorkload, type DemoWorkload } from "./demo.js";
import { externalWorkersLine, startDemoWorkers } from "./up-external-workers.js";
import { describeChanges, leaderLine, leaderOf, nodeRows, renderTable, tasksLine, type ClusterPoll, type LeaderView, type NodeRow, type PolledStatus, type PolledWorker } from "./up-view.js";

/** How long a node may take to stop on SIGTERM before it is SIGKILLed. */
const STOP_GRACE_MS = 8000;
const REFRESH_MS = 500;
/** Without a terminal, the task summary is printed at most this often. */
const SUMMARY_EVERY_MS = 10_000;

interface Child {
  readonly id: string;
  readonly url: string;
  proc: NodeProcess | null;
  exit: string | null;
  /** The last line the node wrote to stderr: why it failed, when it could not start. */
  lastError: string;
}

export async function upCommand(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv, { config: "string", "data-dir": "string", demo: "boolean", pretty: "boolean" }, "up");
  const configPath = configPathOr(stringFlag(args, "config"));
  const cfg = loadClusterFile(configPath);
  const dataRoot = path.resolve(stringFlag(args, "data-dir") ?? "data");
  mkdirSync(dataRoot, { recursive: true });

  const children: Child[] = cfg.nodes.map((n) => ({ id: n.id, url: n.url, proc: null, exit: null, lastError: "" }));
  for (const c of children) spawnChild(c, configPath, dataRoot);

  const view = new LiveView(cfg, children, dataRoot);
  // The demo starts once the cluster has elected its first leader, and sends to whichever nodes answered the last
  // poll, whoever started them: it survives nodes killed and restarted by hand.
  if (args.flags.demo) view.demo = startDemoWorkload(cfg, () => (view.leaderSeen ? view.answering : []));
  const demo = view.demo;
  // The demo also runs two external workers (not members), so the view shows both kinds of worker.
  const demoWorkers = args.flags.demo ? startDemoWorkers(configPath, dataRoot) : null;
  let stopping = false;
  let polling = false;
  const render = (): Promise<void> => view.render(() => stopping);

  return await new Promise<number>((resolve) => {
    const timer = setInterval(() => {
      if (stopping) return;
      // Every node exited before any leader was seen: they cannot start (ports taken, a bad handler...). Say why
      // and exit instead of drawing a cluster that is not there.
      if (!view.leaderSeen && children.every((c) => c.exit !== null)) {
        stopping = true;
        clearInterval(timer);
        demo?.stop();
        void demoWorkers?.stop();
        const why = children.map((c) => `  ${c.id}: ${c.lastError || c.exit}`).join("\n");
        process.stderr.write(`raftsched up: no node could start (logs in ${dataRoot}):\n${why}\n`);
        resolve(1);
        return;
      }
      // One poll at a time: on a loaded machine a poll can outlast the interval, and the change log must see
      // the polls in order.
      if (polling) return;
      polling = true;
      void render().finally(() => (polling = false));
    }, REFRESH_MS);
    const stop = async (): Promise<void> => {
      if (stopping) return;
      stopping = true;
      clearInterval(timer);
      demo?.stop();
      process.stdout.write("\nstopping all nodes…\n");
      await demoWorkers?.stop();
      await Promise.all(children.map((c) => stopChild(c)));
      process.stdout.write("all nodes stopped.\n");
      resolve(0);
    };
    process.on("SIGINT", () => void stop());
    process.on("SIGTERM", () => void stop());
  });
}

function spawnChild(c: Child, configPath: string, dataRoot: string): void {
  const proc = NodeProcess.spawn({
    id: c.id,
    configPath,
    dataDir: path.join(dataRoot, c.id),
    logFile: path.join(dataRoot, `${c.id}.log`),
    onStderr: (text) => {
      const lines = text.split("\n").filter((l) => l.trim().length > 0);
      if (lines.length > 0) c.lastError = lines[lines.length - 1]!.slice(0, 300);
    },
  });
  c.proc = proc;
  c.exit = null;
  void proc.exited.then(({ code, signal }) => {
    c.exit = signal ? `killed by ${signal}` : `exited ${code}${code !== 0 && c.lastError ? `: ${c.lastError}` : ""}`;
  });
}

async function stopChild(c: Child): Promise<void> {
  const p = c.proc;
  if (!p || c.exit) return;
  await p.stop(STOP_GRACE_MS);
}

/** The live view: polls the cluster, then draws a frame (a terminal) or prints what changed (anything else). */
class LiveView {
  demo: DemoWorkload | null = null;
  leaderSeen = false;
  /** The urls of the nodes that answered the last poll. */
  answering: string[] = [];
  /** The nodes the view follows: the file's, then members added at runtime (learned from the leader). */
  private readonly known: Map<string, string>;
  private readonly header: string;
  private readonly plain: PlainLog;
  private readonly tty = process.stdout.isTTY === true;
  /** Sent on reads too: a cluster with "authReads" answers them only with a token. */
  private readonly token: string;

  constructor(cfg: ClusterFile, private readonly children: readonly Child[], dataRoot: string) {
    this.token = cfg.token;
    this.known = new Map(cfg.nodes.map((n) => [n.id, n.url]));
    this.header = [
      `raftsched up — cluster "${cfg.cluster}", ${cfg.nodes.length} nodes, strategy ${cfg.strategy}, logs in ${dataRoot}/<id>.log`,
      `dashboard: ${cfg.nodes[0]!.url}/  (every node serves one)`,
    ].join("\n");
    this.plain = new PlainLog(this.header);
  }

  async render(stopping: () => boolean): Promise<void> {
    const poll = await pollCluster(this.known, this.children, this.token);
    const leader = leaderOf(poll);
    if (leader) this.leaderSeen = true;
    this.answering = poll.nodes.filter((n) => poll.statuses.get(n.id)).map((n) => n.url);
    const rows = nodeRows(poll);
    const summary = [tasksLine(leader ? poll.statuses.get(leader.id) : null), externalWorkersLine(poll.workers), this.demo?.summary() ?? null].filter(
      (l): l is string => l !== null,
    );
    if (stopping()) return;
    if (this.tty) {
      const frame = [this.header, "", renderTable(rows), "", leaderLine(leader), ...summary, "Ctrl-C stops every node."].join("\n");
      process.stdout.write("\x1b[H\x1b[2J" + frame + "\n");
    } else {
      this.plain.print(rows, leader, summary);
    }
  }
}

/** Not a terminal (a log file, a pipe, CI): the header, one line per change, the table once when the first leader
 *  is known, and the task summary at most every SUMMARY_EVERY_MS when it changed — not a table every half second. */
class PlainLog {
  private states: Map<string, string> | null = null;
  private leader: string | null | undefined = undefined;
  private tablePrinted = false;
  private lastSummary = "";
  private lastSummaryAtMs = 0;

  constructor(private readonly header: string) {}

  print(rows: readonly NodeRow[], leader: LeaderView | null, summary: readonly string[]): void {
    const out: string[] = [];
    if (this.states === null) out.push(this.header, "");
    const c = describeChanges(this.states, rows, this.leader, leader);
    this.states = c.after;
    this.leader = c.leaderAfter;
    const stamp = new Date().toISOString().slice(11, 19);
    for (const l of c.lines) out.push(`${stamp} ${l}`);
    if (leader && !this.tablePrinted) {
      this.tablePrinted = true;
      out.push("", renderTable(rows), "");
    }
    const text = summary.join(" | ");
    if (text !== this.lastSummary && Date.now() - this.lastSummaryAtMs >= SUMMARY_EVERY_MS) {
      out.push(`${stamp} ${text}`);
      this.lastSummary = text;
      this.lastSummaryAtMs = Date.now();
    }
    if (out.length > 0) process.stdout.write(out.join("\n") + "\n");
  }
}

async function getJson<T>(url: string, token: string): Promise<T | null> {
  try {
    const r = await httpJson<T>(url, { timeoutMs: 400, token });
    return r.status === 200 ? r.body : null;
  } catch {
    return null;
  }
}

/** Every known node's /v1/status, then the leader's member list and workers. */
async function pollCluster(known: Map<string, string>, children: readonly Child[], token: string): Promise<ClusterPoll> {
  const nodes = [...known].map(([id, url]) => ({ id, url }));
  const answers = await Promise.all(nodes.map((n) => getJson<PolledStatus>(`${n.url}/v1/status`, token)));
  const statuses = new Map(nodes.map((n, i) => [n.id, answers[i] ?? null]));
  const leader = leaderOf({ statuses });
  const source = (leader && statuses.get(leader.id) ? known.get(leader.id) : undefined) ?? nodes.find((n) => statuses.get(n.id))?.url;
  let members: Set<string> | null = null;
  let workers: PolledWorker[] = [];
  if (source && leader) {
    const [cluster, w] = await Promise.all([
      getJson<{ members?: Array<{ id: string; url: string | null }> }>(`${source}/v1/cluster`, token),
      getJson<PolledWorker[]>(`${source}/v1/workers`, token),
    ]);
    if (cluster && Array.isArray(cluster.members)) {
      members = new Set(cluster.members.map((m) => m.id));
      for (const m of cluster.members) if (m.url && !known.has(m.id)) known.set(m.id, m.url);
    }
    if (Array.isArray(w)) workers = w;
  }
  const childExits = new Map<string, string>();
  const childPids = new Map<string, number>();
  for (const c of children) {
    if (c.exit !== null) childExits.set(c.id, c.exit);
    else if (c.proc?.pid !== undefined) childPids.set(c.id, c.proc.pid);
  }
  return { nodes, statuses, members, workers, childExits, childPids };
}
