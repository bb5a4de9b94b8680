/**
 * Verifying a webhook from fleetgate (Standard Webhooks, "Verifying webhook authenticity"), for partners
 * and for our own tests and demo: `verifyWebhook(secret, headers, body, now, toleranceSeconds)`.
 *
 * The steps, in the specification's order, failing closed at each:
 *   1. the three headers are present, once each, within their limits (id ≤ 256 characters, timestamp
 *      ≤ 12 digits, signature header ≤ 4 KiB and ≤ 16 entries — the headers are attacker-controlled);
 *   2. the timestamp is within `toleranceSeconds` of `now` either way (replay window; default 5 minutes);
 *   3. some `v1,` entry equals HMAC-SHA256(secret, "id.timestamp.body") over the bytes received — never a
 *      re-serialisation — compared in constant time; other versions (e.g. `v1a`) are ignored.
 * A failure throws WebhookVerificationError with a stable code; nothing about the expected signature is
 * disclosed in its message.
 */
import { timingSafeEqual } from 'node:crypto';
import { decodeWebhookSecret } from './secret.ts';
import { signatureOf } from './sign.ts';

export type WebhookVerificationCode =
  | 'WEBHOOK_SECRET_INVALID'
  | 'WEBHOOK_HEADERS_MISSING'
  | 'WEBHOOK_HEADERS_MALFORMED'
  | 'WEBHOOK_TIMESTAMP_TOO_OLD'
  | 'WEBHOOK_TIMESTAMP_TOO_NEW'
  | 'WEBHOOK_SIGNATURE_INVALID';

export class WebhookVerificationError extends Error {
  readonly code: WebhookVerificationCode;
  constructor(code: WebhookVerificationCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'WebhookVerificationError';
    this.code = code;
  }
}

export type WebhookHeaders =
  | { get(name: string): string | null }
  | Readonly<Record<string, string | readonly string[] | undefined>>;

export const DEFAULT_TOLERANCE_SECONDS = 300;
const MAX_ID_LENGTH = 256;
const MAX_SIGNATURE_HEADER = 4096;
const MAX_SIGNATURES = 16;
const TIMESTAMP = /^[0-9]{1,12}$/;

function header(headers: WebhookHeaders, name: string): string {
  let value: string | readonly string[] | null | undefined;
  if (typeof (headers as { get?: unknown }).get === 'function') {
    value = (headers as { get(name: string): string | null }).get(name);
  } else {
    const record = headers as Readonly<Record<string, string | readonly string[] | undefined>>;
    const key = Object.keys(record).find((k) => k.toLowerCase() === name);
    value = key === undefined ? undefined : record[key];
  }
  if (value === null || value === undefined || value === '')
    throw new WebhookVerificationError('WEBHOOK_HEADERS_MISSING', `${name} header is missing`);
  if (typeof value !== 'string')
    throw new WebhookVerificationError('WEBHOOK_HEADERS_MALFORMED', `${name} header appears more than once`);
  return value;
}

/**
 * Verifies a delivery; returns normally when authentic and fresh, throws WebhookVerificationError
 * otherwise. `secret` is the endpoint's `whsec_…` secret; `body` the raw request body as received.
 */
export function verifyWebhook(
  secret: string,
  headers: WebhookHeaders,
  body: string | Uint8Array,
  now: Date = new Date(),
  toleranceSeconds: number = DEFAULT_TOLERANCE_SECONDS,
): void {
  let key: Buffer;
  try {
    key = decodeWebhookSecret(secret);
  } catch (error) {
    throw new WebhookVerificationError('WEBHOOK_SECRET_INVALID', 'the webhook secret is malformed', {
      cause: error,
    });
  }
  // 1. Headers, defensively.
  const id = header(headers, 'webhook-id');
  const timestamp = header(headers, 'webhook-timestamp');
  const signatures = header(headers, 'webhook-signature');
  if (id.length > MAX_ID_LENGTH)
    throw new WebhookVerificationError('WEBHOOK_HEADERS_MALFORMED', 'webhook-id is too long');
  if (!TIMESTAMP.test(timestamp))
    throw new WebhookVerificationError('WEBHOOK_HEADERS_MALFORMED', 'webhook-timestamp is not Unix seconds');
  if (signatures.length > MAX_SIGNATURE_HEADER)
    throw new WebhookVerificationError('WEBHOOK_HEADERS_MALFORMED', 'webhook-signature is too long');
  const entries = signatures.split(' ').filter((e) => e !== '');
  if (entries.length > MAX_SIGNATURES)
    throw new WebhookVerificationError('WEBHOOK_HEADERS_MALFORMED', 'too many signatures');

  // 2. Freshness.
  const sentAt = Number(timestamp);
  const nowSeconds = Math.floor(now.getTime() / 1000);
  if (sentAt < nowSeconds - toleranceSeconds)
    throw new WebhookVerificationError('WEBHOOK_TIMESTAMP_TOO_OLD', 'webhook-timestamp is too old');
  if (sentAt > nowSeconds + toleranceSeconds)
    throw new WebhookVerificationError('WEBHOOK_TIMESTAMP_TOO_NEW', 'webhook-timestamp is in the future');

  // 3. Signature over the received bytes.
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  // Compared as canonical base64 text: a lenient base64 decoder would accept altered spellings.
  const expected = Buffer.from(signatureOf(key, id, timestamp, bytes).toString('base64'), 'latin1');
  let match = false;
  for (const entry of entries) {
    const comma = entry.indexOf(',');
    if (comma < 0 || entry.slice(0, comma) !== 'v1') continue;
    const given = Buffer.from(entry.slice(comma + 1), 'latin1');
    // A truncated or padded tag is simply not equal; equal lengths are compared in constant time.
    if (given.length === expected.length && timingSafeEqual(given, expected)) match = true;
  }
  if (!match) throw new WebhookVerificationError('WEBHOOK_SIGNATURE_INVALID', 'no valid v1 signature');
}
