// The backup file: a whole file round-trips; every damage is refused with its stable code (truncated anywhere,
// one bit flipped anywhere, another magic, another version, bytes past the checksum); restore seeds a data dir a
// node loads (the new cluster's membership and urls, the backup's table, a new storage id) and refuses a non-empty
// dir or a damaged file without writing anything.
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { decodeBackup, encodeBackup, BACKUP_MAGIC } from "../../../src/node/backup-file.js";
import { readBackupFile, restoreBackup } from "../../../src/node/backup-restore.js";
import { decodeSnapshotData, encodeSnapshotData } from "../../../src/node/snapshot-data.js";
import { StorageIdentity } from "../../../src/node/storage-identity.js";
import { parseClusterFile } from "../../../src/config/cluster-file.js";
import { TaskTable } from "../../../src/scheduler/table.js";
import { LevelStore } from "../../../src/storage/level.js";

const dir = mkdtempSync(path.join(tmpdir(), "raftsched-backup-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function sampleBackup(): Buffer {
  const table = new TaskTable();
  for (let i = 1; i <= 20; i++) table.apply(i, { type: "submit", id: `t${i}`, payload: { n: i }, priority: 0, maxAttempts: 3, nowMs: 0 });
  const data = encodeSnapshotData({ memberUrls: new Map([["old1", "http://10.0.0.1:7001"]]), table: table.snapshot() });
  return encodeBackup({ cluster: "old", takenBy: "old1", takenAt: "2026-12-07T00:00:00.000Z", index: 25, term: 4, tasks: 20 }, data);
}

const codeOf = (f: () => unknown): string | undefined => {
  try {
    f();
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return undefined;
};

describe("backup file", () => {
  const file = sampleBackup();

  it("round-trips header and data", () => {
    const d = decodeBackup(file);
    expect(d.header).toMatchObject({ cluster: "old", index: 25, term: 4, tasks: 20 });
    expect(TaskTable.restore(decodeSnapshotData(d.data).table).counts().pending).toBe(20);
  });

  it("refuses a file cut at any length as BACKUP_TRUNCATED", () => {
    for (let len = 0; len < file.length; len += len < 64 ? 1 : 97) expect(codeOf(() => decodeBackup(file.subarray(0, len))), `cut at ${len}`).toBe("BACKUP_TRUNCATED");
  });

  it("refuses one flipped bit anywhere after the header as BACKUP_CHECKSUM_MISMATCH", () => {
    const headerEnd = BACKUP_MAGIC.length + 6 + file.readUInt32BE(BACKUP_MAGIC.length + 2);
    for (let at = headerEnd; at < file.length; at += 13) {
      const altered = Buffer.from(file);
      altered[at]! ^= 0x10;
      expect(codeOf(() => decodeBackup(altered)), `flipped at ${at}`).toBe("BACKUP_CHECKSUM_MISMATCH");
    }
  });

  it("refuses another magic, another version, and bytes past the checksum", () => {
    const magic = Buffer.from(file);
    magic[0] = 0x58;
    expect(codeOf(() => decodeBackup(magic))).toBe("BACKUP_BAD_FORMAT");
    const version = Buffer.from(file);
    version.writeUInt16BE(2, BACKUP_MAGIC.length);
    expect(codeOf(() => decodeBackup(version))).toBe("BACKUP_UNSUPPORTED_VERSION");
    expect(codeOf(() => decodeBackup(Buffer.concat([file, Buffer.from([0])])))).toBe("BACKUP_BAD_FORMAT");
  });
});

describe("restore", () => {
  const cfg = parseClusterFile(
    JSON.stringify({ cluster: "new", token: "restore-test-token", nodes: [{ id: "a", url: "http://127.0.0.1:9101" }, { id: "b", url: "http://127.0.0.1:9102" }, { id: "c", url: "http://127.0.0.1:9103", role: "learner" }] }),
    "",
  );
  const good = path.join(dir, "good.backup");
  writeFileSync(good, sampleBackup());

  it("seeds a data dir with the backup's table and the new cluster's membership, urls and a new storage id", async () => {
    const dataDir = path.join(dir, "data-a");
    const r = await restoreBackup(good, cfg, "a", dataDir);
    expect(r.header.index).toBe(25);
    const store = await LevelStore.open(dataDir);
    try {
      const storage = await store.load();
      const snap = storage.snapshot();
      expect(snap.meta).toEqual({ index: 25, term: 1, conf: { voters: ["a", "b"], learners: ["c"] } });
      expect(storage.initialState().hardState).toEqual({ term: 1, vote: null, commit: 25 });
      const d = decodeSnapshotData(snap.data);
      expect([...d.memberUrls.keys()]).toEqual(["a", "b", "c"]);
      expect(TaskTable.restore(d.table).getTask("t7")?.payload).toEqual({ n: 7 });
    } finally {
      await store.close();
    }
    expect(StorageIdentity.open(dataDir).selfStorageId).toBe(r.storageId);
    expect(readdirSync(dir).some((f) => f.includes("restoring"))).toBe(false);
  });

  it("refuses a non-empty data dir and a damaged file, writing nothing", async () => {
    const used = path.join(dir, "used");
    mkdirSync(used);
    writeFileSync(path.join(used, "x"), "");
    await expect(restoreBackup(good, cfg, "a", used)).rejects.toMatchObject({ code: "DATA_DIR_NOT_EMPTY" });
    const bad = path.join(dir, "bad.backup");
    writeFileSync(bad, sampleBackup().subarray(0, 100));
    const target = path.join(dir, "data-bad");
    await expect(restoreBackup(bad, cfg, "a", target)).rejects.toMatchObject({ code: "BACKUP_TRUNCATED" });
    expect(existsSync(target)).toBe(false);
    expect(codeOf(() => readBackupFile(path.join(dir, "missing.backup")))).toBe("BACKUP_UNREADABLE");
    await expect(restoreBackup(good, cfg, "zz", path.join(dir, "data-zz"))).rejects.toMatchObject({ code: "BAD_CONFIG" });
  });
});
