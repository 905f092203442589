import net from "node:net";

/** A port that was free on 127.0.0.1 a moment ago (listen on 0, read it, close). */
export async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

/** n distinct free ports (distinct even if the kernel hands the same one back twice in a row). */
export async function freePorts(n: number): Promise<number[]> {
  const out = new Set<number>();
  for (let tries = 0; out.size < n && tries < n * 20; tries++) out.add(await freePort());
  if (out.size < n) throw Object.assign(new Error(`could not find ${n} free ports`), { code: "NO_FREE_PORTS" });
  return [...out];
}
