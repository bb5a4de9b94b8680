/**
 * The edge SDK's coded error. Network, TLS and storage failures on a vehicle surface as an
 * EdgeError with a stable code so the client can decide what to retry and an operator can see
 * why telemetry stopped (CONVENTIONS.md §4). Codes form a closed union, never reused or renamed;
 * messages carry no key bytes, certificates or payloads.
 */
export type EdgeErrorCode =
  /** An option or argument is out of its documented domain. */
  | 'EDGE_INVALID_ARGUMENT'
  /** The private key is not an Ed25519 private key, or does not match the key id. */
  | 'EDGE_INVALID_KEY'
  /** The batch builder holds as many records as it may; flush before recording more. */
  | 'EDGE_BUFFER_FULL'
  /** The counter file exists but is not a counter file this SDK wrote: refuse rather than reset. */
  | 'EDGE_COUNTER_CORRUPT'
  /** The counter file could not be read or durably written. */
  | 'EDGE_COUNTER_IO'
  /** The counter reached 2^64−1. */
  | 'EDGE_COUNTER_EXHAUSTED'
  /** The counter was closed. */
  | 'EDGE_COUNTER_CLOSED'
  /** Connection refused, reset, DNS failure: worth retrying. */
  | 'EDGE_NETWORK'
  /** The request did not complete within its deadline: worth retrying. */
  | 'EDGE_TIMEOUT'
  /** TLS handshake or certificate verification failed: retrying will not help. */
  | 'EDGE_TLS'
  /** The gateway's response was larger than allowed or otherwise unusable. */
  | 'EDGE_BAD_RESPONSE'
  /** The transport was closed. */
  | 'EDGE_TRANSPORT_CLOSED'
  /** Every attempt failed with a retryable error or status. */
  | 'EDGE_RETRIES_EXHAUSTED'
  /** The gateway refused an EST enrollment or re-enrollment (the problem's code says why). */
  | 'EDGE_ENROLLMENT_REFUSED'
  /** The device's key and certificate files could not be read or durably written. */
  | 'EDGE_CREDENTIALS_IO'
  /** The offline spool holds as much as it may (spool.ts: new envelopes are refused, old ones kept). */
  | 'EDGE_SPOOL_FULL'
  /** The spool file is not one this SDK wrote, or a record inside it is damaged: refuse rather than skip. */
  | 'EDGE_SPOOL_CORRUPT'
  /** The spool could not be read or durably written. */
  | 'EDGE_SPOOL_IO'
  /** The MQTT broker refused the connection, the subscription or a publish (credentials, ACL): retrying will not help. */
  | 'EDGE_BROKER_REFUSED';

export const EDGE_ERROR_CODES: readonly EdgeErrorCode[] = [
  'EDGE_INVALID_ARGUMENT',
  'EDGE_INVALID_KEY',
  'EDGE_BUFFER_FULL',
  'EDGE_COUNTER_CORRUPT',
  'EDGE_COUNTER_IO',
  'EDGE_COUNTER_EXHAUSTED',
  'EDGE_COUNTER_CLOSED',
  'EDGE_NETWORK',
  'EDGE_TIMEOUT',
  'EDGE_TLS',
  'EDGE_BAD_RESPONSE',
  'EDGE_TRANSPORT_CLOSED',
  'EDGE_RETRIES_EXHAUSTED',
  'EDGE_ENROLLMENT_REFUSED',
  'EDGE_CREDENTIALS_IO',
  'EDGE_SPOOL_FULL',
  'EDGE_SPOOL_CORRUPT',
  'EDGE_SPOOL_IO',
  'EDGE_BROKER_REFUSED',
];

export class EdgeError extends Error {
  readonly code: EdgeErrorCode;

  constructor(code: EdgeErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EdgeError';
    this.code = code;
  }
}
