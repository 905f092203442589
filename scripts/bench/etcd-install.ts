// Finds the etcd binary, installing Debian's etcd-server package when it is missing (the way the etcd anchor was
// set up). Prints what it runs; returns null with the reason when etcd cannot be had.
import { spawnSync } from "node:child_process";

export interface EtcdBinary {
  readonly path: string;
  readonly version: string;
}

function probe(bin: string): EtcdBinary | null {
  const r = spawnSync(bin, ["--version"], { encoding: "utf8", timeout: 10_000 });
  if (r.status !== 0) return null;
  const version = /etcd Version: (\S+)/.exec(r.stdout)?.[1];
  return version ? { path: bin, version } : null;
}

function run(cmd: string, args: string[]): boolean {
  console.error(`$ ${cmd} ${args.join(" ")}`);
  const r = spawnSync(cmd, args, { stdio: ["ignore", "inherit", "inherit"], timeout: 600_000, env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
  return r.status === 0;
}

export function ensureEtcd(): { etcd: EtcdBinary } | { error: string } {
  const bin = process.env.ETCD_BIN || "etcd";
  const found = probe(bin);
  if (found) return { etcd: found };
  if (process.env.ETCD_BIN) return { error: `ETCD_BIN=${bin} does not run` };
  console.error("etcd is not installed: installing Debian's etcd-server package (the packaged service is not used; the benchmark starts its own members)");
  if (!run("apt-get", ["update"]) || !run("apt-get", ["install", "-y", "etcd-server"])) {
    return { error: "apt-get update && apt-get install -y etcd-server failed (not root, or no package source)" };
  }
  const after = probe(bin);
  return after ? { etcd: after } : { error: "etcd-server installed but `etcd --version` still fails" };
}
