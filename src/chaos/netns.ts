// `raftsched chaos --netns`: every node in its own Linux network namespace, with real links between them.
//
// Topology for a run with id X (4 hex digits) and subnet 10.213.R.0/24 (R picked free on this machine):
//   - namespace raftsched-X-n<i> per node; the node's address 10.213.R.<i>/32 sits on its loopback, so it stays
//     the same whichever link carries the traffic;
//   - one veth pair per node pair (rsXp<i>x<j> in n<i> <-> rsXp<j>x<i> in n<j>) with a /32 route to the peer's
//     address through it: a symmetric cut takes that pair down at both ends, a one-way cut (i must not reach j)
//     is a blackhole route for j's address inside n<i>;
//   - one veth per node to the root namespace (rsXh<i> <-> rsXn<i>), root side 10.213.R.<100+i>/32, so the chaos
//     driver (the clients) reaches every node whatever the cuts between nodes.
// Nothing routes anywhere else: no default route, no NAT, no bridge, only /32 routes between our own veths.
// When the kernel has sch_netem, every node-to-node link also carries a small delay with jitter and some loss.
//
// A one-way cut is real packet loss in one direction; TCP needs both (acks), so a connection either way across
// such a link stalls within a retransmission timeout — what an asymmetric fault does to a TCP transport.
import { execFile, spawnSync } from "node:child_process";
import { randomBytes, randomInt } from "node:crypto";
import { RaftschedError } from "../util/errors.js";

const IP = "ip";
const TC = "tc";
const COMMAND_TIMEOUT_MS = 10_000;
/** Node i gets .i and its root-side link .(100+i): both must stay inside one /24. */
export const MAX_NETNS_NODES = 99;
const SUBNET_PREFIX = "10.213";
/** The baseline impairment of every node-to-node link when netem exists (one direction per veth end). */
const NETEM_LINK_ARGS = ["delay", "2ms", "1ms", "loss", "0.5%"];

/** Runs one command; rejects with its stderr. */
function run(cmd: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: COMMAND_TIMEOUT_MS }, (err, stdout, stderr) => {
      if (err) reject(new RaftschedError("NETNS_COMMAND", `${cmd} ${args.join(" ")}: ${String(stderr).trim() || err.message}`));
      else resolve(String(stdout));
    });
  });
}

function runSync(cmd: string, args: readonly string[]): boolean {
  const r = spawnSync(cmd, args, { timeout: COMMAND_TIMEOUT_MS, stdio: "ignore" });
  return r.status === 0;
}

/** Null when this process can run namespaced clusters; otherwise why not, in a few words. Creates and deletes one
 *  namespace of its own to find out. */
export async function netnsUnavailableReason(): Promise<string | null> {
  if (process.platform !== "linux") return `network namespaces are Linux-only (this is ${process.platform})`;
  if (typeof process.getuid !== "function" || process.getuid() !== 0) return "it must run as root";
  const probe = `raftsched-probe-${randomBytes(3).toString("hex")}`;
  try {
    await run(IP, ["netns", "add", probe]);
  } catch (err) {
    return `"ip netns add" does not work here (${(err as Error).message})`;
  }
  try {
    await run(IP, ["netns", "del", probe]);
  } catch {
    runSync(IP, ["netns", "del", probe]);
  }
  return null;
}

type PairState = "up" | "down" | "lowBlocksHigh" | "highBlocksLow";

export class NetnsNetwork {
  /** Every namespace of this run starts with it (for cleanup checks: `ip netns list`). */
  readonly prefix: string;
  /** True when node-to-node links carry netem delay and loss. */
  netem = false;
  private readonly pairs = new Map<string, PairState>();
  private torn = false;
  private created: string[] = [];
  private hostLinks: string[] = [];

  private constructor(
    readonly runId: string,
    readonly subnetOctet: number,
    readonly nodeCount: number,
  ) {
    this.prefix = `raftsched-${runId}-`;
  }

  nsName(i: number): string {
    return `${this.prefix}n${i + 1}`;
  }

  /** The node's own address (index from 0). */
  address(i: number): string {
    return `${SUBNET_PREFIX}.${this.subnetOctet}.${i + 1}`;
  }

  private hostAddress(i: number): string {
    return `${SUBNET_PREFIX}.${this.subnetOctet}.${100 + i + 1}`;
  }

  private hostLink(i: number): string {
    return `rs${this.runId}h${i + 1}`;
  }

  private nodeSideHostLink(i: number): string {
    return `rs${this.runId}n${i + 1}`;
  }

  /** The veth end inside node i's namespace that leads to node j. */
  private pairLink(i: number, j: number): string {
    return `rs${this.runId}p${i + 1}x${j + 1}`;
  }

  /** The command line that runs `argv` inside node i's namespace. `ip netns exec` execs (no fork), so the child's
   *  PID is the node's: signals by PID reach the node itself. */
  wrap(i: number, argv: readonly string[]): { cmd: string; args: string[] } {
    return { cmd: IP, args: ["netns", "exec", this.nsName(i), ...argv] };
  }

  /** Builds the namespaces and links for `nodeCount` nodes; on any failure removes what it made and rethrows. */
  static async create(nodeCount: number, log: (line: string) => void): Promise<NetnsNetwork> {
    if (nodeCount < 1 || nodeCount > MAX_NETNS_NODES) {
      throw new RaftschedError("BAD_ARGS", `chaos --netns supports 1 to ${MAX_NETNS_NODES} nodes (the cluster file has ${nodeCount})`);
    }
    const net = new NetnsNetwork(randomBytes(2).toString("hex"), await pickFreeSubnetOctet(), nodeCount);
    liveNetworks.add(net);
    installExitHook();
    try {
      await net.build();
    } catch (err) {
      await net.teardown();
      throw err;
    }
    await net.probeNetem(log);
    return net;
  }

  private async build(): Promise<void> {
    const n = this.nodeCount;
    for (let i = 0; i < n; i++) {
      const ns = this.nsName(i);
      await run(IP, ["netns", "add", ns]);
      this.created.push(ns);
      await run(IP, ["-n", ns, "link", "set", "lo", "up"]);
      await run(IP, ["-n", ns, "addr", "add", `${this.address(i)}/32`, "dev", "lo"]);
      // The driver's link from the root namespace.
      const h = this.hostLink(i);
      const inner = this.nodeSideHostLink(i);
      await run(IP, ["link", "add", h, "type", "veth", "peer", "name", inner, "netns", ns]);
      this.hostLinks.push(h);
      await run(IP, ["addr", "add", `${this.hostAddress(i)}/32`, "dev", h]);
      await run(IP, ["link", "set", h, "up"]);
      await run(IP, ["-n", ns, "link", "set", inner, "up"]);
      await run(IP, ["route", "replace", `${this.address(i)}/32`, "dev", h, "src", this.hostAddress(i)]);
      await run(IP, ["-n", ns, "route", "replace", `${this.hostAddress(i)}/32`, "dev", inner, "src", this.address(i)]);
    }
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) {
        await run(IP, ["link", "add", this.pairLink(i, j), "netns", this.nsName(i), "type", "veth", "peer", "name", this.pairLink(j, i), "netns", this.nsName(j)]);
        await this.setPair(i, j, "up");
      }
    }
  }

  /** netem if the kernel has it (one clear line either way), on a throwaway qdisc inside our own namespace. */
  private async probeNetem(log: (line: string) => void): Promise<void> {
    const ns = this.nsName(0);
    try {
      await run(TC, ["-n", ns, "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms"]);
      await run(TC, ["-n", ns, "qdisc", "del", "dev", "lo", "root"]);
    } catch (err) {
      log(`chaos: tc netem is unavailable on this kernel (${firstLine((err as Error).message)}); --netns uses link cuts only, without delay or loss`);
      return;
    }
    for (let i = 0; i < this.nodeCount; i++) {
      for (let j = 0; j < this.nodeCount; j++) {
        if (i !== j) await run(TC, ["-n", this.nsName(i), "qdisc", "replace", "dev", this.pairLink(i, j), "root", "netem", ...NETEM_LINK_ARGS]);
      }
    }
    this.netem = true;
    log(`chaos: tc netem on every node-to-node link: ${NETEM_LINK_ARGS.join(" ")}`);
  }

  /**
   * Makes the links match `blocked` (pairs [from, to] by node index: `from`'s packets to `to` are lost). Both
   * directions cut: the pair's veth goes down at both ends; one direction: a blackhole route in `from`'s
   * namespace; neither: the link is up with its /32 routes. Only the pairs whose state changed are touched.
   */
  async applyCuts(blocked: ReadonlyArray<readonly [number, number]>): Promise<void> {
    const cut = new Set(blocked.map(([a, b]) => `${a}>${b}`));
    for (let i = 0; i < this.nodeCount; i++) {
      for (let j = i + 1; j < this.nodeCount; j++) {
        const ij = cut.has(`${i}>${j}`);
        const ji = cut.has(`${j}>${i}`);
        const want: PairState = ij && ji ? "down" : ij ? "lowBlocksHigh" : ji ? "highBlocksLow" : "up";
        if (this.pairs.get(`${i}:${j}`) !== want) await this.setPair(i, j, want);
      }
    }
  }

  private async setPair(i: number, j: number, state: PairState): Promise<void> {
    const [nsI, nsJ] = [this.nsName(i), this.nsName(j)];
    const [linkI, linkJ] = [this.pairLink(i, j), this.pairLink(j, i)];
    // Forget the old state first: if a command fails, the next applyCuts redoes this pair from scratch.
    this.pairs.delete(`${i}:${j}`);
    const updown = state === "down" ? "down" : "up";
    await run(IP, ["-n", nsI, "link", "set", linkI, updown]);
    await run(IP, ["-n", nsJ, "link", "set", linkJ, updown]);
    // A link going down drops its routes; a blackhole route is not tied to a link and needs replacing.
    if (state !== "down") {
      const route = (ns: string, link: string, peer: string, self: string, hole: boolean): Promise<string> =>
        run(IP, hole ? ["-n", ns, "route", "replace", "blackhole", `${peer}/32`] : ["-n", ns, "route", "replace", `${peer}/32`, "dev", link, "src", self]);
      await route(nsI, linkI, this.address(j), this.address(i), state === "lowBlocksHigh");
      await route(nsJ, linkJ, this.address(i), this.address(j), state === "highBlocksLow");
    }
    this.pairs.set(`${i}:${j}`, state);
  }

  /** Deletes every namespace and root-side link of this run (the node-to-node veths go with their namespaces).
   *  Kill the node processes first: a namespace lives on while a process is inside it. */
  async teardown(): Promise<void> {
    if (this.torn) return;
    this.torn = true;
    for (const h of this.hostLinks) await run(IP, ["link", "del", h]).catch(() => undefined);
    for (const ns of this.created) await run(IP, ["netns", "del", ns]).catch(() => undefined);
    this.leftovers().forEach((ns) => runSync(IP, ["netns", "del", ns]));
    liveNetworks.delete(this);
  }

  /** The same, synchronously, for the process exit hook. */
  teardownSync(): void {
    if (this.torn) return;
    this.torn = true;
    for (const h of this.hostLinks) runSync(IP, ["link", "del", h]);
    for (const ns of this.created) runSync(IP, ["netns", "del", ns]);
    liveNetworks.delete(this);
  }

  /** Namespaces of this run that still exist. */
  leftovers(): string[] {
    const r = spawnSync(IP, ["netns", "list"], { timeout: COMMAND_TIMEOUT_MS, encoding: "utf8" });
    return String(r.stdout ?? "")
      .split("\n")
      .map((l) => l.split(" ")[0] ?? "")
      .filter((name) => name.startsWith(this.prefix));
  }
}

/** A third octet for 10.213.R.0/24 that no address or route on this machine uses yet (parallel runs differ). */
async function pickFreeSubnetOctet(): Promise<number> {
  const used = (await run(IP, ["-4", "addr", "show"])) + (await run(IP, ["-4", "route", "show", "table", "all"]));
  for (let tries = 0; tries < 64; tries++) {
    const octet = randomInt(1, 255);
    if (!used.includes(`${SUBNET_PREFIX}.${octet}.`)) return octet;
  }
  throw new RaftschedError("NETNS_SUBNET", `chaos --netns: no free ${SUBNET_PREFIX}.R.0/24 found on this machine`);
}

function firstLine(s: string): string {
  return s.split("\n")[0] ?? s;
}

// Networks not yet torn down: the exit hook removes them (after the cluster's own hook has killed the nodes).
const liveNetworks = new Set<NetnsNetwork>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const net of [...liveNetworks]) net.teardownSync();
  });
}
