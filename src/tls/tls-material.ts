// The certificate files of a TLS cluster (src/config/security-fields.ts), read and checked. A node reads them at
// start and again on SIGHUP; every read builds a secure context first, so a key that does not match its certificate
// (or a file that is not PEM) is refused here, with a stable code, instead of failing every handshake later.
import { readFileSync } from "node:fs";
import tls from "node:tls";
import type { TlsFiles } from "../config/security-fields.js";
import { RaftschedError, errorMessage } from "../util/errors.js";

/** The bytes of the files. `ca` null: no private CA (peers are not asked for certificates; the system's roots
 *  verify servers). */
export interface TlsMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca: Buffer | null;
}

/** A file could not be read. */
export const TLS_FILE_UNREADABLE = "TLS_FILE_UNREADABLE";
/** The files were read but do not make a usable identity (not PEM, key and certificate do not match). */
export const TLS_BAD_CERT = "TLS_BAD_CERT";

function readPem(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new RaftschedError(TLS_FILE_UNREADABLE, `tls.${what} ${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? errorMessage(err)})`);
  }
}

/** Reads and checks the files; throws TLS_FILE_UNREADABLE or TLS_BAD_CERT. */
export function readTlsMaterial(files: TlsFiles): TlsMaterial {
  const material: TlsMaterial = {
    cert: readPem(files.cert, "cert"),
    key: readPem(files.key, "key"),
    ca: files.ca === null ? null : readPem(files.ca, "ca"),
  };
  try {
    tls.createSecureContext({ cert: material.cert, key: material.key, ...(material.ca ? { ca: material.ca } : {}) });
  } catch (err) {
    throw new RaftschedError(TLS_BAD_CERT, `tls files ${files.cert} / ${files.key}: ${errorMessage(err)}`);
  }
  return material;
}

/** What a client (a peer dialing, the CLI, a follower forwarding) needs: the CA to verify servers by and, when the
 *  files are there, the certificate to present. A CLI machine may hold only the CA; then it presents none. */
export function readClientMaterial(files: TlsFiles): { ca?: Buffer; cert?: Buffer; key?: Buffer } {
  const ca = files.ca === null ? undefined : readPem(files.ca, "ca");
  let identity: { cert?: Buffer; key?: Buffer } = {};
  try {
    identity = { cert: readFileSync(files.cert), key: readFileSync(files.key) };
  } catch {
    identity = {}; // no identity on this machine: fine for an HTTP client, the API does not ask for one
  }
  return { ...(ca ? { ca } : {}), ...identity };
}
