/**
 * Who may have signed an envelope that arrived on `fleet/<vehicle-id>/telemetry`: over MQTT there is no
 * TLS session between the vehicle and the gateway to read a certificate from (the broker ended it), so
 * the identity comes from the certificate inventory (pki/inventory.ts) — the topic's vehicle's
 * certificates, the envelope's signature key id selecting which (two are active during a rotation's
 * overlap). The result is the same PeerIdentity the telemetry listener builds from a TLS session
 * (pki/peer-identity.ts, over the stored DER), handed to ingestEnvelope, which verifies the signature.
 *
 * Refused here, before ingest, and why (docs/mqtt.md "What the gateway checks"):
 *   - the signature key belongs to another vehicle's certificate → TELEMETRY_TOPIC_MISMATCH: a vehicle
 *     (or a broker) re-publishing what another vehicle signed, under its own topic;
 *   - the selected certificate is revoked → TELEMETRY_SIGNER_REVOKED (the broker's CRL may lag: the
 *     inventory is the source of truth and is read per message, so a revocation committed by any node
 *     applies to the next envelope);
 *   - it is expired or not yet valid → TELEMETRY_SIGNER_EXPIRED;
 *   - the topic's vehicle has no certificate at all → TELEMETRY_UNKNOWN_KEY.
 * When no certificate of the topic's vehicle carries the key id (an unknown key, a malformed envelope
 * whose key ids could not be read), its newest usable certificate is handed over and ingest refuses the
 * envelope with its own code — so every refusal ingest can make is made there, once.
 */
import { X509Certificate } from 'node:crypto';
import { GatewayError } from '../../errors/gateway-error.ts';
import { type InventoryEntry, listCertificates } from '../../pki/inventory.ts';
import { type PeerIdentity, peerIdentityFromDer } from '../../pki/peer-identity.ts';
import type { Queryable } from '../../store/store.ts';

export type SignerResolution =
  | { kind: 'identity'; identity: PeerIdentity }
  | {
      kind: 'refused';
      error: GatewayError;
      /** The certificate the refusal is about, when there is one. */
      certSha256: string | null;
      /** TELEMETRY_TOPIC_MISMATCH: the vehicle whose key signed. */
      signerVehicleId?: string;
    };

/** Envelopes carry a handful of signatures; more key ids than this are not looked up. */
const MAX_KEY_IDS = 8;
const HEX_KEY_ID = /^[0-9a-f]{64}$/;

/** Parsed identities by certificate thumbprint: the DER is parsed once, not per message. */
const identities = new Map<string, PeerIdentity>();
const MAX_CACHED_IDENTITIES = 4096;

function identityOf(entry: InventoryEntry): PeerIdentity {
  const cached = identities.get(entry.thumbprintSha256);
  if (cached !== undefined) return cached;
  const identity = peerIdentityFromDer(new X509Certificate(entry.pem).raw);
  if (identity.kind !== 'vehicle' || identity.id !== entry.subjectId) {
    // The inventory row and the certificate's SAN disagree: fail closed rather than pick one.
    throw new GatewayError('TELEMETRY_TOPIC_MISMATCH', "the certificate does not name the topic's vehicle");
  }
  if (identities.size >= MAX_CACHED_IDENTITIES) {
    const oldest = identities.keys().next().value;
    if (oldest !== undefined) identities.delete(oldest);
  }
  identities.set(entry.thumbprintSha256, identity);
  return identity;
}

const usableAt = (entry: InventoryEntry, now: Date): boolean =>
  entry.status === 'active' && entry.notBefore <= now && now <= entry.notAfter;

/** The newest of the entries (issued last), or undefined. */
const newest = (entries: InventoryEntry[]): InventoryEntry | undefined =>
  entries.reduce<InventoryEntry | undefined>(
    (a, b) => (a === undefined || b.issuedAt > a.issuedAt ? b : a),
    undefined,
  );

function notUsable(entries: InventoryEntry[], now: Date): SignerResolution {
  const revoked = newest(entries.filter((e) => e.status === 'revoked'));
  if (revoked !== undefined) {
    return {
      kind: 'refused',
      error: new GatewayError('TELEMETRY_SIGNER_REVOKED', "the signer's certificate is revoked"),
      certSha256: revoked.thumbprintSha256,
    };
  }
  const other = newest(entries);
  if (other !== undefined) {
    const detail = other.notAfter < now ? 'expired' : 'not yet valid';
    return {
      kind: 'refused',
      error: new GatewayError('TELEMETRY_SIGNER_EXPIRED', `the signer's certificate is ${detail}`),
      certSha256: other.thumbprintSha256,
    };
  }
  return {
    kind: 'refused',
    error: new GatewayError('TELEMETRY_UNKNOWN_KEY', "the topic's vehicle has no certificate"),
    certSha256: null,
  };
}

async function otherVehicleWithKey(
  q: Queryable,
  vehicleId: string,
  keyIds: readonly string[],
): Promise<{ subject_id: string } | undefined> {
  if (keyIds.length === 0) return undefined;
  const placeholders = keyIds.map((_, i) => `$${i + 2}`).join(', ');
  const [row] = await q.query<{ subject_id: string }>(
    `SELECT subject_id FROM certificates WHERE kind = 'vehicle' AND subject_id <> $1 AND key_id IN (${placeholders})
     ORDER BY issued_at DESC LIMIT 1`,
    [vehicleId, ...keyIds],
  );
  return row;
}

export async function resolveSigner(
  q: Queryable,
  vehicleId: string,
  signatureKeyIds: readonly string[],
  now: Date,
): Promise<SignerResolution> {
  // Key ids come from an unverified envelope: only well-formed ones, and only a few, reach SQL.
  const keyIds = [...new Set(signatureKeyIds.filter((k) => HEX_KEY_ID.test(k)))].slice(0, MAX_KEY_IDS);
  const certificates = await listCertificates(q, { kind: 'vehicle', subjectId: vehicleId });
  const matching = certificates.filter((c) => keyIds.includes(c.keyId));
  if (matching.length > 0) {
    const usable = newest(matching.filter((c) => usableAt(c, now)));
    return usable === undefined
      ? notUsable(matching, now)
      : { kind: 'identity', identity: identityOf(usable) };
  }
  const other = await otherVehicleWithKey(q, vehicleId, keyIds);
  if (other !== undefined) {
    return {
      kind: 'refused',
      error: new GatewayError('TELEMETRY_TOPIC_MISMATCH', "the envelope is signed by another vehicle's key"),
      certSha256: null,
      signerVehicleId: other.subject_id,
    };
  }
  const fallback = newest(certificates.filter((c) => usableAt(c, now)));
  return fallback === undefined
    ? notUsable(certificates, now)
    : { kind: 'identity', identity: identityOf(fallback) };
}
