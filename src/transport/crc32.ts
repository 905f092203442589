// CRC-32 (IEEE, as zlib/gzip) of a chunk. Node >= 20.15 has it natively in zlib; older 20.x get a table-driven
// fallback, so both ends of a link agree whatever minor version each runs.
import zlib from "node:zlib";

type Crc32 = (data: Uint8Array) => number;

const native = (zlib as unknown as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;

let table: Uint32Array | null = null;

function tableCrc32(data: Uint8Array): number {
  if (table === null) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  const t = table;
  let crc = 0xffffffff;
  for (let i = 0; i < data.length; i++) crc = (t[(crc ^ (data[i] as number)) & 0xff] as number) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

export const crc32: Crc32 = typeof native === "function" ? (data) => native(data) >>> 0 : tableCrc32;
/** Exposed for the test that checks both implementations agree. */
export const crc32Portable: Crc32 = tableCrc32;
