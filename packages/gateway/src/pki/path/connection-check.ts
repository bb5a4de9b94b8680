/**
 * Our own RFC 5280 path validation on every mTLS connection, after OpenSSL's: fail closed.
 *
 * OpenSSL already verified the chain in the handshake; this second, independent check applies
 * fleetgate's stricter policy (docs/pki.md "Path validation": keyCertSign on issuers, EKU clientAuth on
 * the leaf, no weak keys or SHA-1, name constraints including our `urn:fleetgate:` URIs) at the time of
 * the connection, with revocation status from the gateway's revoked-serial set. A chain that OpenSSL
 * accepts and we do not is closed right after the handshake and audited; nothing reaches HTTP.
 *
 * Threat: a certificate OpenSSL's default policy accepts but fleetgate's must not (a CA-issued leaf with
 * the wrong purpose, a weak key), and divergence between two validators going unnoticed.
 */

import { X509Certificate } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import type { DetailedPeerCertificate, TLSSocket } from 'node:tls';
import { toHex } from '@fleetgate/core/bytes';
import { sha256 } from '@fleetgate/core/hash';
import type { AuditLog } from '../../audit/log.ts';
import type { AnyFastify } from '../../http/common.ts';
import { normaliseSerial } from '../inventory.ts';
import type { PathResult } from './types.ts';
import { validatePath } from './validate.ts';

export interface ConnectionPathCheckOptions {
  audit: AuditLog;
  now: () => Date;
  /** The PEM trust bundle in force (changes during a CA rollover). */
  trustBundle: () => string;
  /** Revocation status from the enforcer's set; the enforcer also closes revoked connections itself. */
  isRevoked: (serialNumber: string) => boolean;
  onRefused?: (listener: string, code: string) => void;
}

/** The self-signed certificates of a PEM bundle: the trust anchors. */
export function anchorsOf(bundle: string): X509Certificate[] {
  const pems = bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return pems
    .map((pem) => new X509Certificate(pem))
    .filter((c) => c.subject === c.issuer && c.verify(c.publicKey));
}

/** The peer's chain as OpenSSL built it, leaf first, DER, ending with the anchor. */
export function peerChain(socket: TLSSocket): Uint8Array[] {
  const chain: Uint8Array[] = [];
  let cert: DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
  const seen = new Set<DetailedPeerCertificate>();
  while (cert?.raw !== undefined && !seen.has(cert) && chain.length < 16) {
    seen.add(cert);
    chain.push(new Uint8Array(cert.raw));
    cert = cert.issuerCertificate;
  }
  return chain;
}

export class ConnectionPathCheck {
  readonly #options: ConnectionPathCheckOptions;
  #bundle = '';
  #anchors: X509Certificate[] = [];

  constructor(options: ConnectionPathCheckOptions) {
    this.#options = options;
  }

  check(chain: readonly Uint8Array[]): PathResult {
    const bundle = this.#options.trustBundle();
    if (bundle !== this.#bundle) {
      this.#anchors = anchorsOf(bundle);
      this.#bundle = bundle;
    }
    return validatePath({
      chain,
      trustAnchors: this.#anchors,
      time: this.#options.now(),
      purpose: 'clientAuth',
      revocation: (certificate) =>
        this.#options.isRevoked(normaliseSerial(toHex(certificate.serialNumber))) ? 'revoked' : 'good',
    });
  }

  attach(app: AnyFastify, listener: string): void {
    (app.server as EventEmitter).prependListener('secureConnection', (socket: TLSSocket) => {
      // OpenSSL refused it, no certificate was asked for, or the revocation enforcer (which runs first,
      // with its own audit and coalescing) already closed it.
      if (socket.authorized !== true || socket.destroyed) return;
      const chain = peerChain(socket);
      if (chain.length === 0) return;
      const result = this.check(chain);
      if (result.ok) return;
      socket.destroy();
      this.#options.onRefused?.(listener, result.code);
      const leaf = chain[0] as Uint8Array;
      this.#options.audit
        .append({
          class: 'pki.certificate.path-refused',
          actor: { kind: 'system', id: listener, certSha256: toHex(sha256(leaf)) },
          subject: { kind: 'tls-connection', id: listener },
          outcome: 'rejected',
          reasons: [result.code],
          details: { position: result.position },
        })
        .catch(() => {
          // The refusal stands even if it cannot be recorded; the log line below keeps a trace.
        });
    });
  }
}

export type { PathResult };
