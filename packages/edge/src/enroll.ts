/**
 * First enrollment of a vehicle over EST (RFC 7030 §4.2.1 simpleenroll) with a one-time bootstrap
 * token: generate an Ed25519 key on the device (it never leaves it), build a PKCS#10 request (RFC 2986
 * §4) naming the vehicle, send it with `Authorization: Bearer <token>`, and save the key and the
 * returned chain atomically in DIR/device.pem (0600, internal/credentials.ts). The key is the one the
 * vehicle then signs telemetry with: the certificate binds the vehicle id to it.
 *
 * The request is built here with a tiny DER writer rather than an ASN.1 library (the edge SDK depends
 * only on core and protocol): its shape is fixed —
 *   CertificationRequest ::= SEQUENCE {
 *     certificationRequestInfo SEQUENCE { version 0, subject CN=<id>, SubjectPublicKeyInfo (Ed25519),
 *       attributes [0] { extensionRequest { subjectAltName URI:urn:fleetgate:vehicle:<id> } } },
 *     signatureAlgorithm SEQUENCE { id-Ed25519 }, signature BIT STRING }
 * and the tests check it with `openssl req -verify`.
 *
 * Threat: a spoofed gateway handing out a certificate for another key or vehicle — the gateway is
 * authenticated by its TLS certificate, and the response is accepted only if a certificate in it
 * certifies this device's key.
 */
import { createPublicKey, type KeyObject, sign, type X509Certificate } from 'node:crypto';
import { EdgeError } from './errors.ts';
import {
  credentialsFrom,
  type DeviceCredentials,
  loadCredentialsFile,
  PENDING_KEY_FILE,
  pendingKey,
  removeFile,
  saveCredentials,
} from './internal/credentials.ts';
import {
  encode,
  encodeOid,
  encodeText,
  TAG_BIT_STRING,
  TAG_CONTEXT_0,
  TAG_INTEGER,
  TAG_OCTET_STRING,
  TAG_SEQUENCE,
  TAG_SET,
  TAG_URI,
  TAG_UTF8_STRING,
} from './internal/der.ts';
import { type EstEndpoint, estPost } from './internal/est-client.ts';

export type { DeviceCredentials } from './internal/credentials.ts';
export { EnrollmentRefusedError, type EstEndpoint } from './internal/est-client.ts';

/** Vehicle ids as the gateway accepts them (pki/identity.ts FLEETGATE_ID_PATTERN). */
const VEHICLE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

const OID_ED25519 = '1.3.101.112';
const OID_COMMON_NAME = '2.5.4.3';
const OID_EXTENSION_REQUEST = '1.2.840.113549.1.9.14';
const OID_SUBJECT_ALT_NAME = '2.5.29.17';

/** DER PKCS#10 request for `privateKey` (Ed25519) naming `vehicleId` in the CN and a SAN URI. */
export function buildCsr(privateKey: KeyObject, vehicleId: string): Uint8Array {
  if (!VEHICLE_ID.test(vehicleId)) throw new EdgeError('EDGE_INVALID_ARGUMENT', 'invalid vehicle id');
  if (privateKey.type !== 'private' || privateKey.asymmetricKeyType !== 'ed25519') {
    throw new EdgeError('EDGE_INVALID_KEY', 'the device key must be an Ed25519 private key');
  }
  const spki = new Uint8Array(createPublicKey(privateKey).export({ format: 'der', type: 'spki' }));
  const subject = encode(
    TAG_SEQUENCE,
    encode(TAG_SET, encode(TAG_SEQUENCE, encodeOid(OID_COMMON_NAME), encodeText(TAG_UTF8_STRING, vehicleId))),
  );
  const san = encode(TAG_SEQUENCE, encodeText(TAG_URI, `urn:fleetgate:vehicle:${vehicleId}`));
  const extensions = encode(
    TAG_SEQUENCE,
    encode(TAG_SEQUENCE, encodeOid(OID_SUBJECT_ALT_NAME), encode(TAG_OCTET_STRING, san)),
  );
  const attributes = encode(
    TAG_CONTEXT_0,
    encode(TAG_SEQUENCE, encodeOid(OID_EXTENSION_REQUEST), encode(TAG_SET, extensions)),
  );
  const info = encode(TAG_SEQUENCE, encode(TAG_INTEGER, Uint8Array.of(0)), subject, spki, attributes);
  const signature = new Uint8Array(sign(null, info, privateKey));
  return encode(
    TAG_SEQUENCE,
    info,
    encode(TAG_SEQUENCE, encodeOid(OID_ED25519)),
    encode(TAG_BIT_STRING, Uint8Array.of(0), signature),
  );
}

/** Leaf (the certificate of `privateKey`) first, then the rest as received; refuses a foreign leaf. */
export function orderChain(
  certificates: readonly X509Certificate[],
  privateKey: KeyObject,
): X509Certificate[] {
  const leaf = certificates.find((c) => c.checkPrivateKey(privateKey));
  if (leaf === undefined) {
    throw new EdgeError('EDGE_BAD_RESPONSE', 'no certificate in the response certifies the device key');
  }
  const rest: X509Certificate[] = [];
  for (let current = leaf; rest.length < certificates.length; ) {
    const issuer = certificates.find((c) => c !== current && !rest.includes(c) && current.checkIssued(c));
    if (issuer === undefined || issuer.checkIssued(issuer)) break; // stop before a self-signed root
    rest.push(issuer);
    current = issuer;
  }
  return [leaf, ...rest];
}

export interface EnrollOptions extends EstEndpoint {
  readonly vehicleId: string;
  /** The one-time bootstrap token from `fleetgate device enroll <vehicle-id> --token`. */
  readonly token: string;
  /** Where DIR/device.pem is written. */
  readonly dir: string;
}

/**
 * Enrolls once. A key generated for an attempt is kept in DIR/pending-key.pem until the certificate is
 * saved, so a retry after a lost answer sends the same key (the gateway then resends the certificate).
 */
export async function enroll(options: EnrollOptions): Promise<DeviceCredentials> {
  const { keyPem, privateKey } = await pendingKey(options.dir);
  const certificates = await estPost(options, 'simpleenroll', buildCsr(privateKey, options.vehicleId), {
    bearer: options.token,
  });
  const credentials = credentialsFrom(options.vehicleId, keyPem, orderChain(certificates, privateKey));
  await saveCredentials(options.dir, credentials);
  await removeFile(options.dir, PENDING_KEY_FILE);
  return credentials;
}

/** The saved credentials of an enrolled device (DIR/device.pem), or undefined before enrollment. */
export function loadDeviceCredentials(
  dir: string,
  vehicleId: string,
): Promise<DeviceCredentials | undefined> {
  return loadCredentialsFile(dir, vehicleId);
}
