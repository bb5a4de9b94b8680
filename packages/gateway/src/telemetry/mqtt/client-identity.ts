/**
 * The gateway's own identity as an MQTT client of the broker: a clientAuth certificate from the fleetgate
 * CA (RFC 5280 §4.2.1.12), so the broker authenticates the gateway exactly as it authenticates vehicles
 * (TLS client certificate, checked against the CA bundle and the CRL) and its ACL grants the gateway —
 * and only the gateway — `read fleet/+/telemetry` and `write fleet/+/acks` (broker-config.ts).
 *
 * Profile: issue.ts offers device (Ed25519, vehicle SAN), partner and server certificates, and no
 * service profile. Until one exists the gateway uses the **partner** profile with the reserved id
 * `gateway-mqtt` (SAN urn:fleetgate:partner:gateway-mqtt, ECDSA P-256, clientAuth, DIR/pki/partners/
 * gateway-mqtt/), issued through bootstrapPki (idempotent; a key is never regenerated under its
 * certificate). The control plane refuses it, because no configured partner has that id — and a
 * configuration that lists one is refused here, so the reserved id can never become a TMS partner.
 *
 * The first issuance is recorded in the inventory and audited (`pki.certificate.issued`).
 */
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AuditLog } from '../../audit/log.ts';
import type { GatewayConfig } from '../../config/config.ts';
import { bootstrapPki } from '../../pki/bootstrap.ts';
import { PkiError } from '../../pki/errors.ts';
import { recordCertificate, thumbprintOf } from '../../pki/inventory.ts';
import type { Store } from '../../store/store.ts';

/** The reserved partner id of the gateway's MQTT client certificate. */
export const GATEWAY_MQTT_CLIENT_ID = 'gateway-mqtt';

export interface MqttClientCredentials {
  /** PEM private key (P-256). */
  key: string;
  /** PEM chain: the leaf, then its issuer. */
  chain: string;
  /** PEM trust bundle (DIR/pki/ca.pem): the broker's certificate must chain to it. */
  ca: string;
  /** The broker username this certificate yields under `use_subject_as_username` (RFC 2253 subject). */
  username: string;
}

/** The RFC 2253 subject Mosquitto derives from a fleetgate client certificate (issue.ts: O, OU, CN). */
export function brokerUsername(kind: 'vehicle' | 'partner', id: string): string {
  return `CN=${id},OU=${kind},O=fleetgate`;
}

export async function ensureMqttClientIdentity(deps: {
  dataDir: string;
  config: GatewayConfig;
  store: Store;
  audit: AuditLog;
}): Promise<MqttClientCredentials> {
  if (deps.config.partners.some((p) => p.id === GATEWAY_MQTT_CLIENT_ID)) {
    throw new PkiError(
      'PKI_STATE_CONFLICT',
      `partner id ${GATEWAY_MQTT_CLIENT_ID} is reserved for the gateway's MQTT client`,
    );
  }
  const manifest = await bootstrapPki(deps.dataDir, {
    vehicles: [],
    partners: [GATEWAY_MQTT_CLIENT_ID],
    keys: deps.config.keys,
  });
  const paths = manifest.partners[GATEWAY_MQTT_CLIENT_ID];
  if (paths === undefined) throw new PkiError('PKI_STATE_CONFLICT', 'gateway MQTT certificate missing');
  const [key, chain, certPem, issuerPem, ca] = await Promise.all([
    readFile(paths.key, 'utf8'),
    readFile(paths.chain, 'utf8'),
    readFile(paths.cert, 'utf8'),
    readFile(join(manifest.intermediate.dir, 'cert.pem'), 'utf8'),
    readFile(manifest.caBundle, 'utf8'),
  ]);
  if (manifest.written.includes(paths.cert)) {
    const certificate = new X509Certificate(certPem);
    const issuer = new X509Certificate(issuerPem);
    await deps.store.transaction(async (tx) => {
      await recordCertificate(tx, certificate, {
        kind: 'partner',
        subjectId: GATEWAY_MQTT_CLIENT_ID,
        issuer,
      });
      await deps.audit.appendInTx(tx, {
        class: 'pki.certificate.issued',
        actor: { kind: 'system', id: 'gateway' },
        subject: { kind: 'certificate', id: thumbprintOf(certificate) },
        outcome: 'recorded',
        details: { profile: 'partner', subjectId: GATEWAY_MQTT_CLIENT_ID, purpose: 'mqtt-client' },
      });
    });
  }
  return { key, chain, ca, username: brokerUsername('partner', GATEWAY_MQTT_CLIENT_ID) };
}
