// The storage identity: a random id per data dir, and each peer's id remembered durably on first contact, so a
// peer that comes back on a new disk is recognised.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { PEER_STORAGE_IDS_FILE, STORAGE_ID_FILE, StorageIdentity } from "../../../src/node/storage-identity.js";

const dirs: string[] = [];
function dataDir(): string {
  const d = mkdtempSync(path.join(tmpdir(), "raftsched-identity-"));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const A = "a".repeat(32);
const B = "b".repeat(32);

describe("StorageIdentity", () => {
  it("gives a data dir one random id, kept across opens, and a new one once the dir is wiped", () => {
    const dir = dataDir();
    const first = StorageIdentity.open(dir).selfStorageId;
    expect(first).toMatch(/^[0-9a-f]{32}$/);
    expect(StorageIdentity.open(dir).selfStorageId).toBe(first);
    expect(StorageIdentity.open(dataDir()).selfStorageId).not.toBe(first);
    rmSync(dir, { recursive: true, force: true });
    const again = dataDir();
    expect(StorageIdentity.open(again).selfStorageId).not.toBe(first);
  });

  it("remembers a peer's first id durably and recognises a replaced disk, also after a restart", () => {
    const dir = dataDir();
    const id = StorageIdentity.open(dir);
    expect(id.check("n2", A)).toEqual({ verdict: "first" });
    expect(id.check("n2", A)).toEqual({ verdict: "known" });
    expect(id.check("n2", B)).toEqual({ verdict: "replaced", known: A });
    const reopened = StorageIdentity.open(dir);
    expect(reopened.check("n2", B)).toEqual({ verdict: "replaced", known: A });
    expect(reopened.check("n3", B)).toEqual({ verdict: "first" });
    expect(JSON.parse(readFileSync(path.join(dir, PEER_STORAGE_IDS_FILE), "utf8"))).toEqual({ n2: A, n3: B });
    expect(readdirSync(dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });

  it("forgets members that left, so a removed node can come back on a new disk", () => {
    const dir = dataDir();
    const id = StorageIdentity.open(dir);
    id.check("n2", A);
    id.check("n3", A);
    id.retainOnly(["n1", "n3"]);
    expect(id.knownId("n2")).toBeUndefined();
    expect(StorageIdentity.open(dir).check("n2", B)).toEqual({ verdict: "first" });
    expect(StorageIdentity.open(dir).check("n3", B)).toEqual({ verdict: "replaced", known: A });
    id.forget("n3");
    expect(StorageIdentity.open(dir).knownId("n3")).toBeUndefined();
  });

  it("refuses files it did not write with STORAGE_CORRUPT, and leaves them alone", () => {
    const bad: Array<[string, string]> = [
      [STORAGE_ID_FILE, "not-an-id\n"],
      [PEER_STORAGE_IDS_FILE, "{ not json"],
      [PEER_STORAGE_IDS_FILE, "[1,2]"],
      [PEER_STORAGE_IDS_FILE, JSON.stringify({ n2: "short" })],
    ];
    for (const [file, text] of bad) {
      const dir = dataDir();
      writeFileSync(path.join(dir, file), text);
      expect(() => StorageIdentity.open(dir), `${file}: ${text}`).toThrowError(expect.objectContaining({ code: "STORAGE_CORRUPT" }));
      expect(readFileSync(path.join(dir, file), "utf8")).toBe(text);
    }
  });

  it("writes nothing for peers until one connects", () => {
    const dir = dataDir();
    StorageIdentity.open(dir);
    expect(existsSync(path.join(dir, STORAGE_ID_FILE))).toBe(true);
    expect(existsSync(path.join(dir, PEER_STORAGE_IDS_FILE))).toBe(false);
  });
});
