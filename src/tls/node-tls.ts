// A node's TLS: the https server's options, what its peer links dial with, the check of a peer's client
// certificate at the /raft upgrade, and the reload on SIGHUP.
//
// Mutual TLS where it matters: with a `ca`, the server asks every client for a certificate but lets the handshake
// finish without one (rejectUnauthorized: false), and the /raft upgrade refuses a peer whose certificate is
// missing or not signed by the CA. The HTTP API and the dashboard stay reachable with the CA alone (curl --cacert,
// a browser that trusts the CA) and keep their token checks; a node-to-node connection needs both a valid
// certificate and the cluster token. Outbound, peer links verify the server's certificate against the CA and
// present this node's own.
//
// Reload: the files are read again; only if they make a valid identity does the server switch
// (server.setSecureContext) and do new dials use them. Connections already open keep the certificates they were
// made with, as TLS sessions do.
import type https from "node:https";
import type { IncomingMessage } from "node:http";
import { TLSSocket } from "node:tls";
import type { Logger } from "pino";
import type { TlsFiles } from "../config/security-fields.js";
import { errorMessage } from "../util/errors.js";
import { reloadClusterTls } from "./cluster-fetch.js";
import { readTlsMaterial, type TlsMaterial } from "./tls-material.js";

/** Why a /raft upgrade's client certificate is refused. */
export const PEER_CERT_REFUSED = "PEER_CERT_REFUSED";

export class NodeTls {
  private material: TlsMaterial;
  private server: https.Server | null = null;

  /** Reads the files now: a node with unreadable or mismatched files does not start. */
  constructor(
    private readonly files: TlsFiles,
    private readonly logger: Logger,
  ) {
    this.material = readTlsMaterial(files);
  }

  /** Peers must present a certificate the CA signed. */
  get verifiesPeers(): boolean {
    return this.files.ca !== null;
  }

  serverOptions(): https.ServerOptions {
    return { ...this.contextOptions(), requestCert: this.verifiesPeers, rejectUnauthorized: false };
  }

  /** The server whose context a reload replaces. */
  attach(server: https.Server): void {
    this.server = server;
  }

  /** What a peer link dials with: verify the server by the CA, present our certificate. Read at every dial. */
  dialOptions(): { ca?: Buffer; cert: Buffer; key: Buffer } {
    return this.contextOptions();
  }

  /** Null when the upgrade's client certificate is acceptable (or certificates are not checked). */
  peerCertificateProblem(req: IncomingMessage): string | null {
    if (!this.verifiesPeers) return null;
    const socket = req.socket;
    if (!(socket instanceof TLSSocket)) return "not a TLS connection";
    if (socket.authorized) return null;
    const cert = socket.getPeerCertificate();
    if (!cert || Object.keys(cert).length === 0) return "no client certificate presented";
    return `client certificate not accepted (${String(socket.authorizationError ?? "unknown reason")})`;
  }

  /** Re-reads the files. True when the new ones are in use; false (old ones kept, error logged) otherwise. */
  reload(): boolean {
    let next: TlsMaterial;
    try {
      next = readTlsMaterial(this.files);
    } catch (err) {
      this.logger.error({ err: errorMessage(err) }, "TLS reload failed; keeping the certificates in use");
      return false;
    }
    this.material = next;
    this.server?.setSecureContext(this.contextOptions());
    reloadClusterTls();
    this.logger.info({ cert: this.files.cert }, "TLS certificates reloaded; new connections use them");
    return true;
  }

  private contextOptions(): { ca?: Buffer; cert: Buffer; key: Buffer } {
    const m = this.material;
    return { cert: m.cert, key: m.key, ...(m.ca ? { ca: m.ca } : {}) };
  }
}
