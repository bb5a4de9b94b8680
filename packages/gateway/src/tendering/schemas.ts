/**
 * JSON Schemas (2020-12 subset that Ajv and OpenAPI 3.1 both read) of the tender API v1: requests are
 * validated by fastify's Ajv without coercion, defaults or removal; `additionalProperties: false`
 * everywhere, so a body that tries to set `status`, `rate` by another name, `tenantId` or `partnerId`
 * is refused (mass assignment, OWASP API3). Responses are serialised through their schemas, so nothing
 * outside them (tenant ids, request digests) leaks to partners. http/openapi.ts publishes these verbatim.
 * Limits are explicit: strings ≤ 128 (free text ≤ 500), ≤ 20 stops, ≤ 20 references.
 */

import { IDEMPOTENCY_KEY_PATTERN } from './idempotency.ts';
import { FLEET_EVENTS, TENDER_STATUSES } from './lifecycle.ts';
import { TENDER_ID_PATTERN } from './read-tenders.ts';

const place = { type: 'string', minLength: 2, maxLength: 128, pattern: "^[\\p{L}\\p{N} .,'-]+$" } as const;
const instant = { type: 'string', format: 'date-time', maxLength: 40 } as const;
const window = {
  type: 'object',
  additionalProperties: false,
  required: ['start', 'end'],
  properties: { start: instant, end: instant },
} as const;
const freeText = { type: 'string', minLength: 1, maxLength: 500 } as const;
const nullableString = { type: ['string', 'null'] } as const;

const stop = {
  type: 'object',
  additionalProperties: false,
  required: ['type', 'location', 'window'],
  properties: {
    type: { type: 'string', enum: ['pickup', 'delivery'] },
    location: {
      type: 'object',
      additionalProperties: false,
      required: ['name'],
      properties: {
        name: place,
        address: { type: 'string', minLength: 1, maxLength: 256 },
        latitude: { type: 'number', minimum: -90, maximum: 90 },
        longitude: { type: 'number', minimum: -180, maximum: 180 },
      },
    },
    window,
  },
} as const;

const rate = {
  type: 'object',
  additionalProperties: false,
  required: ['amountCents', 'currency'],
  properties: {
    amountCents: { type: 'integer', minimum: 0, maximum: 100_000_000_00 },
    currency: { type: 'string', pattern: '^[A-Z]{3}$' },
  },
} as const;

const reference = {
  type: 'object',
  additionalProperties: false,
  required: ['qualifier', 'value'],
  properties: {
    qualifier: { type: 'string', pattern: '^[A-Z0-9]{2,3}$' },
    value: { type: 'string', minLength: 1, maxLength: 80, pattern: '^[\\x20-\\x7E]+$' },
  },
} as const;

export const tenderRequestSchema = {
  type: 'object',
  additionalProperties: false,
  required: [
    'reference',
    'origin',
    'destination',
    'equipment',
    'weightKg',
    'hazmat',
    'pickupWindow',
    'deliverBy',
  ],
  properties: {
    reference: { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9][A-Za-z0-9._/-]*$' },
    origin: place,
    destination: place,
    equipment: { type: 'string', enum: ['dry_van', 'reefer', 'flatbed', 'tanker'] },
    weightKg: { type: 'integer', minimum: 1, maximum: 100000 },
    hazmat: { type: 'boolean' },
    pickupWindow: window,
    deliverBy: instant,
    stops: { type: 'array', minItems: 2, maxItems: 20, items: stop },
    rate,
    references: { type: 'array', maxItems: 20, items: reference },
  },
} as const;

export const receiptSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['logOrigin', 'auditIndex'],
  properties: { logOrigin: { type: 'string' }, auditIndex: { type: 'integer', minimum: 0 } },
} as const;

const status = { type: 'string', enum: [...TENDER_STATUSES] } as const;
const reasonCodes = { type: 'array', items: { type: 'string' } } as const;

export const createdTenderSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'reference', 'status', 'reasonCodes', 'laneId', 'receipt'],
  properties: {
    id: { type: 'string' },
    reference: { type: 'string' },
    status,
    reasonCodes,
    laneId: nullableString,
    receipt: receiptSchema,
  },
} as const;

const tenderViewProperties = {
  id: { type: 'string' },
  reference: { type: 'string' },
  status,
  reasonCodes,
  laneId: nullableString,
  origin: { type: 'string' },
  destination: { type: 'string' },
  equipment: { type: 'string' },
  weightKg: { type: 'integer' },
  hazmat: { type: 'boolean' },
  pickupWindow: window,
  deliverBy: { type: 'string' },
  stops: { type: 'array', items: stop },
  rate,
  references: { type: 'array', items: reference },
  vehicleId: nullableString,
  decidedBy: { type: 'string', enum: ['engine', 'operator'] },
  createdAt: { type: 'string' },
  updatedAt: { type: 'string' },
  receipt: receiptSchema,
} as const;
const tenderViewRequired = [
  'id',
  'reference',
  'status',
  'reasonCodes',
  'laneId',
  'origin',
  'destination',
  'equipment',
  'weightKg',
  'hazmat',
  'pickupWindow',
  'deliverBy',
  'vehicleId',
  'decidedBy',
  'createdAt',
  'updatedAt',
  'receipt',
];

export const tenderViewSchema = {
  type: 'object',
  additionalProperties: false,
  required: tenderViewRequired,
  properties: tenderViewProperties,
} as const;

export const reviewItemSchema = {
  type: 'object',
  additionalProperties: false,
  required: [...tenderViewRequired, 'tenantId', 'partnerId'],
  properties: { ...tenderViewProperties, tenantId: { type: 'string' }, partnerId: { type: 'string' } },
} as const;

const pageOf = (item: object) =>
  ({
    type: 'object',
    additionalProperties: false,
    required: ['items', 'nextCursor'],
    properties: { items: { type: 'array', items: item }, nextCursor: nullableString },
  }) as const;

export const tenderPageSchema = pageOf(tenderViewSchema);
export const reviewPageSchema = pageOf(reviewItemSchema);

export const tenderIdParams = {
  type: 'object',
  additionalProperties: false,
  required: ['id'],
  properties: { id: { type: 'string', pattern: TENDER_ID_PATTERN } },
} as const;

const cursor = { type: 'string', minLength: 1, maxLength: 64 } as const;
/** Query values are strings (no coercion): `limit` is parsed from its digits. */
const limit = { type: 'string', pattern: '^(100|[1-9][0-9]?)$' } as const;

export const listQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { status, cursor, limit },
} as const;

export const reviewQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { cursor, limit },
} as const;

export const createHeaders = {
  type: 'object',
  properties: { 'idempotency-key': { type: 'string', pattern: IDEMPOTENCY_KEY_PATTERN } },
} as const;

export const cancelBody = {
  type: 'object',
  additionalProperties: false,
  properties: { reason: freeText },
} as const;

export const eventBody = {
  type: 'object',
  additionalProperties: false,
  required: ['event'],
  properties: {
    event: { type: 'string', enum: [...FLEET_EVENTS] },
    vehicleId: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$' },
    loadId: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$' },
    occurredAt: instant,
    reason: freeText,
  },
} as const;

/** `reason` is required by the API contract; its absence is refused and audited in code (422). */
export const decisionBody = {
  type: 'object',
  additionalProperties: false,
  required: ['decision'],
  properties: {
    decision: { type: 'string', enum: ['accept', 'decline'] },
    reason: { type: 'string', maxLength: 500 },
  },
} as const;

const position = {
  type: 'object',
  additionalProperties: false,
  required: ['recordedAt', 'latitude', 'longitude', 'speedMps', 'headingDeg'],
  properties: {
    recordedAt: { type: 'string' },
    latitude: { type: 'number' },
    longitude: { type: 'number' },
    speedMps: { type: 'number' },
    headingDeg: { type: 'number' },
  },
} as const;

const historyEntry = {
  type: 'object',
  additionalProperties: false,
  required: ['from', 'to', 'event', 'actor', 'reason', 'occurredAt', 'recordedAt', 'auditIndex'],
  properties: {
    from: nullableString,
    to: { type: 'string' },
    event: { type: 'string' },
    actor: {
      type: 'object',
      additionalProperties: false,
      required: ['kind', 'id'],
      properties: { kind: { type: 'string' }, id: { type: 'string' } },
    },
    reason: nullableString,
    occurredAt: { type: 'string' },
    recordedAt: { type: 'string' },
    auditIndex: { type: 'integer' },
  },
} as const;

export const trackingSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['loadId', 'status', 'vehicleId', 'positions', 'history', 'eta', 'receipt'],
  properties: {
    loadId: { type: 'string' },
    status: { type: 'string' },
    vehicleId: nullableString,
    positions: { type: 'array', items: position },
    history: { type: 'array', items: historyEntry },
    eta: {
      type: ['object', 'null'],
      additionalProperties: false,
      required: ['at', 'remainingKm', 'basis'],
      properties: {
        at: { type: 'string' },
        remainingKm: { type: 'number' },
        basis: { type: 'string', enum: ['telemetry', 'plan'] },
      },
    },
    receipt: receiptSchema,
  },
} as const;
