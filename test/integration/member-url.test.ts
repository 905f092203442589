// POST /v1/cluster/members with a url another current member already has is refused (400 BAD_FIELD, naming that
// member) and changes nothing: two members on one address make every peer's links to them replace each other
// forever. A normal add, and a role change of an existing member on its own url, still work. Real node processes
// on loopback (the shared harness).
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { Cluster, freePorts, sleep, waitFor, type HttpAnswer } from "./cluster-harness.js";

interface Member {
  readonly id: string;
  readonly url: string | null;
  readonly role: string;
}

let c: Cluster | undefined;

beforeAll(async () => {
  c = await Cluster.start({ nodes: 3 });
}, 60_000);

afterAll(async () => {
  await c?.stopAll();
});

/** The leader's view of the membership, id order. */
async function membership(cl: Cluster): Promise<Member[]> {
  const leader = await cl.waitForLeader();
  const r = await cl.request(leader, "GET", "/v1/cluster");
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return (r.body.members as Member[]).map(({ id, url, role }) => ({ id, url, role })).sort((a, b) => (a.id < b.id ? -1 : 1));
}

function addMember(cl: Cluster, via: string, body: Record<string, unknown>): Promise<HttpAnswer> {
  return cl.request(via, "POST", "/v1/cluster/members", { body, timeoutMs: 30_000 });
}

/** Each test's start: logs on failure, the cluster, its membership now, the leader and one follower. */
async function begin(): Promise<{ cl: Cluster; before: Member[]; leader: string; follower: string }> {
  onTestFailed(() => c?.printLogTails());
  const cl = c!;
  const before = await membership(cl);
  const leader = await cl.waitForLeader();
  return { cl, before, leader, follower: cl.ids.find((id) => id !== leader)! };
}

function expectBadField(r: HttpAnswer, message: RegExp): void {
  expect(r.status, JSON.stringify(r.body)).toBe(400);
  expect(Object.keys(r.body)).toEqual(["error"]);
  expect(r.body.error.code).toBe("BAD_FIELD");
  expect(typeof r.body.error.message).toBe("string");
  expect(r.body.error.message).toMatch(message);
}

describe("POST /v1/cluster/members: a url belongs to one member", () => {
  it("refuses a new member on another member's url, via the leader and via a follower, and changes nothing", async () => {
    const { cl, before, leader, follower } = await begin();
    expect(before.map((m) => m.id)).toEqual(["n1", "n2", "n3"]);
    const port1 = cl.port("n1");
    for (const via of [leader, follower]) {
      for (const role of ["learner", "voter"]) {
        // The same address however it is spelled: as the cluster file has it, with a trailing slash, a zero-padded port.
        for (const url of [cl.url("n1"), `${cl.url("n1")}/`, `http://127.0.0.1:0${port1}`]) {
          const r = await addMember(cl, via, { id: "n9", url, role });
          // The message names the url as the router hands it on (without the trailing slash) and the member.
          const named = url.replace(/\/$/, "").replace(/[.\\/]/g, "\\$&");
          expectBadField(r, new RegExp(`^url ${named} is already member n1's`));
        }
      }
      // Another member's url, for an id that exists: the owner named is that other member.
      const r = await addMember(cl, via, { id: "n2", url: cl.url("n3"), role: "voter" });
      expectBadField(r, /is already member n3's/);
    }
    // Nothing was proposed: same members, same urls, and no node ever heard of n9.
    expect(await membership(cl)).toEqual(before);
    await sleep(300);
    expect(await membership(cl)).toEqual(before);
    for (const id of cl.ids) expect(cl.logText(id)).not.toMatch(/MISROUTED|"n9"/);
  }, 60_000);

  it("still changes the role of an existing member on its own url", async () => {
    const { cl, before, leader } = await begin();
    for (const id of cl.ids) {
      for (const url of [cl.url(id), `${cl.url(id)}/`]) {
        const r = await addMember(cl, leader, { id, url, role: "voter" });
        expect(r.status, JSON.stringify(r.body)).toBe(200);
      }
    }
    expect(await membership(cl)).toEqual(before);
  }, 60_000);

  it("adds a member on a free url; that url is then taken until the member is removed", async () => {
    const { cl, before, leader, follower } = await begin();
    const [freePort] = await freePorts(1);
    const url = `http://127.0.0.1:${freePort}`;

    // A learner needs no process to be committed: only the voters vote.
    const add = await addMember(cl, follower, { id: "n4", url, role: "learner" });
    expect(add.status, JSON.stringify(add.body)).toBe(201);
    const withN4 = [...before, { id: "n4", url, role: "learner" }];
    expect(await membership(cl)).toEqual(withN4);
    // It never came up, yet it is a member: /v1/workers lists it as not alive (the contract lists every member).
    const workers = await cl.request(leader, "GET", "/v1/workers");
    expect((workers.body as Array<{ id: string; alive: boolean; active: number }>).find((w) => w.id === "n4")).toMatchObject({ alive: false, active: 0 });

    // n4's own url again: its role stays learner, 200.
    const again = await addMember(cl, leader, { id: "n4", url, role: "learner" });
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    // Someone else on n4's url: refused, nothing changes.
    expectBadField(await addMember(cl, leader, { id: "n5", url: `${url}/`, role: "learner" }), /is already member n4's/);
    expect(await membership(cl)).toEqual(withN4);

    // A removed member's url is free again.
    const rm = await cl.request(leader, "DELETE", "/v1/cluster/members/n4", { timeoutMs: 20_000 });
    expect(rm.status, JSON.stringify(rm.body)).toBe(200);
    await waitFor("n4 to leave the membership", 10_000, async () => !(await membership(cl)).some((m) => m.id === "n4"));
    const add5 = await addMember(cl, leader, { id: "n5", url, role: "learner" });
    expect(add5.status, JSON.stringify(add5.body)).toBe(201);
    expect(await membership(cl)).toEqual([...before, { id: "n5", url, role: "learner" }]);
  }, 60_000);

  it("refuses a url that is not http://host:port with a usable port", async () => {
    const { cl, before, leader } = await begin();
    for (const url of [
      "http://127.0.0.1:99999",
      "http://127.0.0.1:0",
      "http://user@127.0.0.1:7001",
      "http://h?x:7001",
      "https://127.0.0.1:7001",
      "http://127.0.0.1",
      "127.0.0.1:7001",
    ]) {
      expectBadField(await addMember(cl, leader, { id: "n9", url, role: "learner" }), /^url: must be http:\/\/host:port/);
    }
    expect(await membership(cl)).toEqual(before);
  }, 30_000);
});
