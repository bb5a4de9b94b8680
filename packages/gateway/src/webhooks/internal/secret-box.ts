/**
 * Webhook signing secrets at rest: AES-256-GCM under the data directory's key-wrapping key (the KEK of
 * telemetry/device-keys/kek.ts, shared by every node on one store), bound to the endpoint and the secret's
 * generation so a wrapped secret copied to another endpoint row does not unwrap:
 *
 *   stored = base64( nonce (12) || ciphertext || tag (16) )
 *   AAD    = "fleetgate-webhook-secret-v1\n" || endpoint id || "\n" || generation
 *
 * A copy of the store alone yields no secret. The plaintext exists in memory while signing and in the one
 * API answer that shows it; it is never logged, audited or put in an error.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { KeyWrappingKey } from '../../telemetry/device-keys/kek.ts';

const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const LABEL = 'fleetgate-webhook-secret-v1\n';

const aad = (endpointId: string, generation: number) => Buffer.from(`${LABEL}${endpointId}\n${generation}`);

export function sealSecret(
  kek: KeyWrappingKey,
  secret: string,
  endpointId: string,
  generation: number,
): string {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', kek.key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad(endpointId, generation));
  const body = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
  return Buffer.concat([nonce, body, cipher.getAuthTag()]).toString('base64');
}

export function openSecret(
  kek: KeyWrappingKey,
  sealed: string,
  endpointId: string,
  generation: number,
): string {
  const raw = Buffer.from(sealed, 'base64');
  if (raw.length < NONCE_BYTES + TAG_BYTES + 1) throw new Error('sealed webhook secret is too short');
  const decipher = createDecipheriv('aes-256-gcm', kek.key, raw.subarray(0, NONCE_BYTES), {
    authTagLength: TAG_BYTES,
  });
  decipher.setAAD(aad(endpointId, generation));
  decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
  return Buffer.concat([
    decipher.update(raw.subarray(NONCE_BYTES, raw.length - TAG_BYTES)),
    decipher.final(),
  ]).toString('utf8');
}
