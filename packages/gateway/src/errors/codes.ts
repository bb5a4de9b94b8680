/**
 * The gateway's closed catalogue of error codes, each with its HTTP status and a fixed title. Codes are
 * never reused or renamed (CONVENTIONS.md §4). docs/errors.md lists exactly these; a test checks both
 * directions. `title` is what a peer sees; internal detail goes to the log, never to the peer.
 */

export const ERROR_CODES = {
  REQUEST_BODY_TOO_LARGE: { status: 413, title: 'Request body exceeds the limit' },
  REQUEST_UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported Content-Type' },
  REQUEST_MALFORMED_JSON: { status: 400, title: 'Request body is not valid JSON' },
  REQUEST_JSON_TOO_DEEP: { status: 400, title: 'JSON nesting exceeds the limit' },
  REQUEST_FORBIDDEN_KEY: { status: 400, title: 'JSON contains a forbidden key' },
  REQUEST_INVALID: { status: 400, title: 'Request does not match the schema' },
  REQUEST_ROUTE_NOT_FOUND: { status: 404, title: 'No such route' },
  REQUEST_HEADERS_TOO_LARGE: { status: 431, title: 'Request headers exceed the limit' },
  REQUEST_MALFORMED_HTTP: { status: 400, title: 'Request is not valid HTTP' },
  AUTH_CLIENT_CERT_REQUIRED: { status: 401, title: 'A verified client certificate is required' },
  AUTH_IDENTITY_NOT_ALLOWED: { status: 403, title: 'This identity may not use this listener' },
  TELEMETRY_MALFORMED: { status: 400, title: 'Telemetry envelope or batch is malformed' },
  TELEMETRY_TOO_LARGE: { status: 413, title: 'Telemetry envelope exceeds a limit' },
  TELEMETRY_UNSUPPORTED_ALGORITHM: { status: 400, title: 'No signature with a supported algorithm' },
  TELEMETRY_UNKNOWN_KEY: { status: 400, title: 'Batch is not signed with the connection certificate key' },
  TELEMETRY_SIGNATURE_INVALID: { status: 400, title: 'Batch signature does not verify' },
  TELEMETRY_VEHICLE_MISMATCH: { status: 403, title: 'Batch is for another vehicle than the certificate' },
  TELEMETRY_REPLAYED: { status: 409, title: 'Batch counter was already accepted' },
  TELEMETRY_COUNTER_TOO_OLD: { status: 409, title: 'Batch counter is older than the replay window' },
  TELEMETRY_CLOCK_SKEW: { status: 400, title: 'Batch time is too far from server time' },
  TENDER_DUPLICATE_REFERENCE: { status: 409, title: 'A tender with this reference already exists' },
  TENDER_NOT_FOUND: { status: 404, title: 'No such tender' },
  SERVICE_UNAVAILABLE: { status: 503, title: 'Service temporarily unavailable' },
  INTERNAL_ERROR: { status: 500, title: 'Internal error' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export const ERROR_TYPE_BASE = 'https://fleetgate.dev/errors/';
