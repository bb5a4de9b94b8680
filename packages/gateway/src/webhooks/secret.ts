/**
 * Webhook signing secrets in the Standard Webhooks form (https://www.standardwebhooks.com/, "Signature
 * scheme", symmetric): `whsec_` followed by the standard base64 of the key bytes. We generate 32 random
 * bytes (the specification asks for 24 to 64). A secret is shown to the partner once, when its endpoint
 * is created or its secret rotated; the store keeps it only wrapped (internal/secret-box.ts).
 *
 * Parsing is defensive (the string comes from a partner's configuration): at most 100 characters, strict
 * base64, 24 to 64 key bytes — anything else is refused, never "best effort" decoded.
 */
import { randomBytes } from 'node:crypto';

export const SECRET_PREFIX = 'whsec_';
export const SECRET_BYTES = 32;
const MIN_KEY_BYTES = 24;
const MAX_KEY_BYTES = 64;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** A fresh `whsec_…` secret of 32 random bytes. */
export function generateWebhookSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(SECRET_BYTES).toString('base64')}`;
}

/** The key bytes of a `whsec_…` secret (the prefix is optional, as in the reference libraries); throws if malformed. */
export function decodeWebhookSecret(secret: string): Buffer {
  if (typeof secret !== 'string' || secret.length > 100) throw new TypeError('webhook secret is malformed');
  const b64 = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  if (!BASE64.test(b64)) throw new TypeError('webhook secret is malformed');
  const key = Buffer.from(b64, 'base64');
  if (key.length < MIN_KEY_BYTES || key.length > MAX_KEY_BYTES)
    throw new TypeError('webhook secret is malformed');
  return key;
}
