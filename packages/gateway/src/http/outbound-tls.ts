/**
 * The TLS policy of every connection the gateway OPENS to a third party (docs/pki.md "TLS policy",
 * SECURITY-CHECKLIST "TLS: no CBC suites"): webhook receivers (webhooks/deliver.ts), SIEM collectors
 * over HTTPS and syslog (audit/export/https-sink.ts, syslog-tls-sink.ts) and witnesses
 * (audit/witness/client.ts). Our own listeners follow http/tls-policy.ts (TLS 1.3 only).
 *
 * Partner receivers and SIEMs are not ours to upgrade, so TLS 1.2 stays allowed by default — but only
 * with forward secrecy and an AEAD: ECDHE key exchange with AES-GCM or ChaCha20-Poly1305 (RFC 5289,
 * RFC 7905). Never CBC (Lucky13 and padding oracles, RFC 7457 §2.4), RC4, 3DES, static RSA key exchange
 * (no forward secrecy) or finite-field DHE (servers pick the group, often a weak or custom one). TLS 1.3 offers its three
 * AEAD suites (RFC 8446 §9.1), as our listeners do. A receiver that only speaks CBC suites fails the
 * handshake: a WEBHOOK_TARGET_TLS attempt, or a failed export batch, rather than a weaker channel.
 *
 * Node routes the TLS_* names of `ciphers` to OpenSSL's TLS 1.3 ciphersuite list and the rest to the
 * TLS 1.2 cipher list, so one string carries both.
 */
import type { ConnectionOptions } from 'node:tls';
import { TLS_CIPHERSUITES } from './tls-policy.ts';

/** TLS 1.2 suites: ECDHE (ECDSA or RSA certificates) with AES-GCM or ChaCha20-Poly1305, strongest first. */
export const OUTBOUND_TLS12_CIPHERS = [
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
].join(':');

/** The `ciphers` string for outbound connections: the TLS 1.3 suites, then the TLS 1.2 ones. */
export const OUTBOUND_CIPHERS = `${TLS_CIPHERSUITES}:${OUTBOUND_TLS12_CIPHERS}`;

export interface OutboundTlsPolicy {
  minVersion: 'TLSv1.2' | 'TLSv1.3';
  ciphers: string;
}

/**
 * The options to spread into tls.connect / https.request / https.Agent. `minVersion` 'TLSv1.3' for
 * peers we run ourselves (witnesses); the default 'TLSv1.2' for partner receivers and SIEM collectors.
 */
export function outboundTlsOptions(
  minVersion: OutboundTlsPolicy['minVersion'] = 'TLSv1.2',
): OutboundTlsPolicy & Pick<ConnectionOptions, 'minVersion' | 'ciphers'> {
  return { minVersion, ciphers: OUTBOUND_CIPHERS };
}
