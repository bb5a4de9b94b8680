/**
 * The TLS policy every listener uses (docs/pki.md "TLS policy"): TLS 1.3 only (RFC 8446), AEAD suites in
 * our order, hybrid post-quantum key exchange first (X25519MLKEM768, draft-ietf-tls-ecdhe-mlkem; OpenSSL
 * 3.5 in Node 24), then X25519 and P-256 for peers without it. Client certificates are verified by
 * OpenSSL during the handshake against the fleetgate trust bundle, so an unknown CA, an expired
 * certificate or a missing certificate never reaches HTTP.
 *
 * What TLS 1.3 removed cannot be switched back on here: there is no renegotiation (RFC 8446 §4.6.2
 * replaces it with post-handshake messages; a renegotiation request fails), no compression (§4.1.2:
 * legacy_compression_methods must be the single null method), no CBC, RC4 or static-RSA suites. The
 * tests assert each of these against a real gateway, with Node clients and testssl.sh.
 *
 * Session resumption: tickets keep the ~1 ms full handshake off reconnecting vehicles. Their keys are
 * explicit — 48 random octets per listener (name, HMAC and AES key), never shared between listeners,
 * because OpenSSL restores the client certificate from a ticket: a ticket from the public listener
 * (no client certificate) must never resume on the control plane. TicketKeyRotator replaces every
 * listener's key with a fresh random one each period and whenever the trust bundle changes (so a
 * ticket cannot outlive the trust that admitted its client). Node holds ONE ticket key per secure
 * context (Server#setTicketKeys): OpenSSL's multi-key callback is not exposed, so tickets under the
 * previous key are not accepted after a rotation — such a client does one full handshake. With the
 * ticket lifetime (sessionTimeout, 5 minutes) far below the period (default 60 minutes), a rotation
 * cuts short at most lifetime/period (about 8 %) of the tickets' usable time.
 *
 * Threats: downgrade to an older protocol or a weak suite (not offered); a stolen ticket key decrypting
 * recorded resumption secrets (keys rotate, live only in memory, and tickets are short-lived);
 * cross-listener resumption (separate keys).
 */
import { randomBytes } from 'node:crypto';
import type { SecureContextOptions, Server, TlsOptions } from 'node:tls';

export const TLS_CIPHERSUITES = 'TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256';
export const TLS_GROUPS = 'X25519MLKEM768:X25519:P-256';
/** Resumption tickets are valid this long (seconds): the RFC 8446 §4.6.1 ticket_lifetime we send. */
export const TICKET_LIFETIME_SECONDS = 300;
/** Server#setTicketKeys takes 48 octets: 16 key name, 16 HMAC key, 16 AES key. */
export const TICKET_KEY_BYTES = 48;

export interface TlsMaterial {
  /** PEM private key of the server certificate. */
  key: string;
  /** PEM chain: leaf then intermediate. */
  cert: string;
  /** PEM trust bundle for client certificates. */
  ca: string;
}

/** The secure-context half of the policy: what `Server#setSecureContext` takes on a reload. */
export function tlsContextOptions(material: TlsMaterial, ticketKeys?: Buffer): SecureContextOptions {
  return {
    key: material.key,
    cert: material.cert,
    ca: material.ca,
    minVersion: 'TLSv1.3',
    maxVersion: 'TLSv1.3',
    // Node routes TLS_* names in `ciphers` to OpenSSL's TLS 1.3 ciphersuite list.
    ciphers: TLS_CIPHERSUITES,
    ecdhCurve: TLS_GROUPS,
    honorCipherOrder: true,
    sessionTimeout: TICKET_LIFETIME_SECONDS,
    ...(ticketKeys === undefined ? {} : { ticketKeys }),
  };
}

export function tlsServerOptions(
  material: TlsMaterial,
  requireClientCert: boolean,
  ticketKeys?: Buffer,
): TlsOptions & SecureContextOptions {
  return {
    ...tlsContextOptions(material, ticketKeys),
    requestCert: requireClientCert,
    rejectUnauthorized: requireClientCert,
  };
}

/** 48 fresh random octets for Server#setTicketKeys. */
export function freshTicketKeys(): Buffer {
  return randomBytes(TICKET_KEY_BYTES);
}

/**
 * Rotates the session-ticket key of each TLS server: a fresh random key per server every `periodMs`,
 * and on demand (rotate()). Keys are kept here so that a secure-context reload (which rebuilds the
 * context) can carry the current key over: `keysFor(server)`.
 */
export class TicketKeyRotator {
  readonly #servers: readonly Server[];
  readonly #periodMs: number;
  readonly #keys = new Map<Server, Buffer>();
  #timer: NodeJS.Timeout | undefined;
  #rotations = 0;

  constructor(servers: readonly Server[], periodMs: number) {
    if (!Number.isFinite(periodMs) || periodMs < 1000)
      throw new RangeError('ticket key period must be ≥ 1 s');
    this.#servers = servers;
    this.#periodMs = periodMs;
    for (const server of servers) this.#keys.set(server, server.getTicketKeys());
  }

  /** The key currently installed on `server`. */
  keysFor(server: Server): Buffer {
    const keys = this.#keys.get(server);
    if (keys === undefined) throw new RangeError('not a server of this rotator');
    return keys;
  }

  /** How many rotations have happened (for metrics and tests). */
  get rotations(): number {
    return this.#rotations;
  }

  /** Installs a fresh key on every server now; tickets under the old keys stop resuming. */
  rotate(): void {
    for (const server of this.#servers) {
      const keys = freshTicketKeys();
      server.setTicketKeys(keys);
      this.#keys.set(server, keys);
    }
    this.#rotations += 1;
  }

  start(): void {
    this.rotate();
    this.#timer ??= setInterval(() => this.rotate(), this.#periodMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
