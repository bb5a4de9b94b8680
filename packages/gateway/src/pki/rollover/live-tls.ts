/**
 * Keeps the TLS listeners of a running gateway in step with DIR/pki without a restart (docs/pki.md
 * "CA rollover", "TLS policy"): every `checkIntervalMs` it reads ca.pem and the server key and chain;
 * when any changed — a CA rollover began or completed, the server certificate was re-issued — it
 * builds the new secure context and installs it on every TLS listener with `Server#setSecureContext`.
 * New handshakes use the new trust bundle; connections already open are not touched (their handshake
 * is done), so no client is dropped. It also owns the session-ticket key rotation (tls-policy.ts).
 *
 * Order on a change: the new material is validated by building a context first (a key that does not
 * match its certificate — a half-written re-issue — is not installed; the old context stays and the
 * next check tries again); then every listener's ticket key is replaced, so no ticket issued under the
 * old trust can resume a session the new trust would refuse (OpenSSL restores the client certificate
 * from the ticket without verifying it again); then the contexts are swapped. A context option that
 * someone else set on the server (a CRL) is carried over.
 *
 * Threats: a stale trust bundle after a CA compromise (reload within one check interval of the file
 * change); resumption across a trust change (ticket keys rotate with it); a broken write taking a
 * listener down (validated before install, failures reported once per content).
 */
import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createSecureContext, type Server } from 'node:tls';
import { TicketKeyRotator, type TlsMaterial, tlsContextOptions } from '../../http/tls-policy.ts';
import { caBundlePath, serverPaths } from '../internal/layout.ts';

export interface LiveTlsListener {
  readonly name: string;
  readonly server: Server;
}

export interface TrustReload {
  /** SHA-256 (hex) of every trust anchor (self-signed certificate) in the new ca.pem. */
  readonly anchors: readonly string[];
  readonly anchorsAdded: readonly string[];
  readonly anchorsRemoved: readonly string[];
  /** SHA-256 of the server certificate now presented. */
  readonly serverCertSha256: string;
  readonly listeners: readonly string[];
}

export interface LiveTlsOptions {
  readonly dataDir: string;
  readonly listeners: readonly LiveTlsListener[];
  /** Session-ticket key rotation period. */
  readonly ticketRotationMs: number;
  /** How often the files are compared with what is installed. */
  readonly checkIntervalMs: number;
  /** Called after a new context is installed on every listener (the gateway audits it). */
  readonly onReload?: (reload: TrustReload) => void;
  /** Called once per distinct unusable file content (the gateway logs it). */
  readonly onError?: (error: Error) => void;
}

/** Reads the server key, chain and trust bundle of a data directory. */
export function readTlsMaterial(dataDir: string): TlsMaterial {
  const server = serverPaths(dataDir);
  return {
    key: readFileSync(server.key, 'utf8'),
    cert: readFileSync(server.chain, 'utf8'),
    ca: readFileSync(caBundlePath(dataDir), 'utf8'),
  };
}

const sha256 = (bytes: Uint8Array | string): string => createHash('sha256').update(bytes).digest('hex');

function certificates(pem: string): X509Certificate[] {
  return (pem.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? []).map(
    (block) => new X509Certificate(block),
  );
}

/** SHA-256 thumbprints of the self-signed certificates (trust anchors) in a PEM bundle. */
export function anchorThumbprints(bundle: string): string[] {
  return certificates(bundle)
    .filter((c) => c.checkIssued(c))
    .map((c) => sha256(c.raw));
}

export class LiveTls {
  readonly #options: LiveTlsOptions;
  readonly #rotator: TicketKeyRotator;
  #material: TlsMaterial;
  #timer: NodeJS.Timeout | undefined;
  #checking: Promise<TrustReload | undefined> | undefined;
  #lastFailure: string | undefined;

  constructor(material: TlsMaterial, options: LiveTlsOptions) {
    this.#material = material;
    this.#options = options;
    this.#rotator = new TicketKeyRotator(
      options.listeners.map((l) => l.server),
      options.ticketRotationMs,
    );
  }

  /** What the listeners serve now (ca.pem is also what GET /pki/ca.pem returns). */
  get material(): TlsMaterial {
    return this.#material;
  }

  get ticketKeys(): TicketKeyRotator {
    return this.#rotator;
  }

  start(): void {
    this.#rotator.start();
    this.#timer ??= setInterval(() => {
      this.check().catch((error: unknown) => this.#options.onError?.(error as Error));
    }, this.#options.checkIntervalMs);
    this.#timer.unref();
  }

  stop(): void {
    this.#rotator.stop();
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Compares the files with what is installed and reloads on a change; one check at a time. */
  check(): Promise<TrustReload | undefined> {
    this.#checking ??= this.#check().finally(() => {
      this.#checking = undefined;
    });
    return this.#checking;
  }

  async #check(): Promise<TrustReload | undefined> {
    let next: TlsMaterial;
    try {
      next = readTlsMaterial(this.#options.dataDir);
    } catch (error) {
      return this.#fail('unreadable', error); // mid-rename: the next check sees the new file
    }
    const current = this.#material;
    if (next.key === current.key && next.cert === current.cert && next.ca === current.ca) return undefined;
    const digest = sha256(next.key + next.cert + next.ca);
    try {
      createSecureContext(tlsContextOptions(next));
      if (anchorThumbprints(next.ca).length === 0) throw new Error('ca.pem holds no trust anchor');
    } catch (error) {
      return this.#fail(digest, error);
    }
    this.#rotator.rotate();
    for (const { server } of this.#options.listeners) {
      const crl = (server as unknown as { crl?: string | Buffer | (string | Buffer)[] }).crl;
      server.setSecureContext({
        ...tlsContextOptions(next, this.#rotator.keysFor(server)),
        ...(crl === undefined ? {} : { crl }),
      });
    }
    this.#material = next;
    this.#lastFailure = undefined;
    const before = new Set(anchorThumbprints(current.ca));
    const anchors = anchorThumbprints(next.ca);
    const leaf = certificates(next.cert)[0];
    const reload: TrustReload = {
      anchors,
      anchorsAdded: anchors.filter((a) => !before.has(a)),
      anchorsRemoved: [...before].filter((a) => !anchors.includes(a)),
      serverCertSha256: leaf === undefined ? '' : sha256(leaf.raw),
      listeners: this.#options.listeners.map((l) => l.name),
    };
    this.#options.onReload?.(reload);
    return reload;
  }

  #fail(key: string, error: unknown): undefined {
    if (this.#lastFailure !== key) {
      this.#lastFailure = key;
      this.#options.onError?.(
        new Error(
          `TLS material in ${join(this.#options.dataDir, 'pki')} not installed: ${(error as Error).message}`,
        ),
      );
    }
    return undefined;
  }
}
