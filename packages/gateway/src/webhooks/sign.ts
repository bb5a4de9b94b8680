/**
 * Signing a webhook message (Standard Webhooks, "Signature scheme"): the signed content is
 * `${webhook-id}.${webhook-timestamp}.${body}` over the exact body bytes sent, the signature is
 * `v1,` + base64(HMAC-SHA256(key, content)), and several signatures (secret rotation: the new secret and,
 * for its overlap period, the previous one) are space-separated in one `webhook-signature` header.
 */
import { createHmac } from 'node:crypto';
import { decodeWebhookSecret } from './secret.ts';

export interface SignedHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
  [name: string]: string;
}

/** The v1 signature (without the `v1,` prefix) of one message under one key. */
export function signatureOf(
  key: Uint8Array,
  id: string,
  timestamp: number | string,
  body: Uint8Array,
): Buffer {
  return createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest();
}

/**
 * The three Standard Webhooks headers for `body`, signed with every secret given (first the current one).
 * `timestamp` is in whole Unix seconds.
 */
export function signWebhook(
  secrets: readonly string[],
  id: string,
  timestamp: number,
  body: string | Uint8Array,
): SignedHeaders {
  if (secrets.length === 0) throw new TypeError('at least one secret is needed');
  if (!Number.isSafeInteger(timestamp) || timestamp < 0)
    throw new TypeError('timestamp must be Unix seconds');
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const signatures = secrets.map(
    (s) => `v1,${signatureOf(decodeWebhookSecret(s), id, timestamp, bytes).toString('base64')}`,
  );
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signatures.join(' '),
  };
}
