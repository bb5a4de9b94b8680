/**
 * A client's authorization policy (issue 4 "Scopes and policy"): the freight a partner may tender,
 * stored as JSON in oauth_clients.policy and parsed here, strictly:
 *
 *   { "lanes": ["DAL-HOU"], "equipment": ["reefer"],
 *     "timeWindows": [{ "start": "22:00", "end": "06:00", "timeZone": "America/Chicago" }] }
 *
 * An absent member does not restrict; a present one is an allow-list (an empty list allows nothing).
 * Times are wall-clock HH:MM in the window's IANA time zone (validated by Intl); `end` may be 24:00, and
 * an `end` before `start` crosses midnight. Unknown members, wrong types or an unknown zone make the
 * policy invalid, and an invalid policy refuses (AUTH_POLICY_INVALID) instead of being half-applied.
 * Limits: 16 KiB of JSON, 256 lanes, 16 equipment types, 32 windows.
 */
import { ID_PATTERN } from '../../config/config.ts';
import { GatewayError } from '../../errors/gateway-error.ts';
import { parseJsonBody } from '../../http/json-body.ts';

export interface TimeWindow {
  /** HH:MM, 00:00–23:59. */
  start: string;
  /** HH:MM, 00:01–24:00; before `start` when the window crosses midnight. */
  end: string;
  /** An IANA time zone, e.g. America/Chicago. */
  timeZone: string;
}

export interface ClientPolicy {
  lanes?: readonly string[];
  equipment?: readonly string[];
  timeWindows?: readonly TimeWindow[];
}

const MAX_POLICY_BYTES = 16 * 1024;
const HH_MM = /^([01]\d|2[0-3]):[0-5]\d$|^24:00$/;
const EQUIPMENT = /^[a-z_]{1,32}$/;

/** Minutes since local midnight of an HH:MM string (24:00 → 1440). */
export function minutesOf(hhmm: string): number {
  return Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
}

export function isTimeZone(zone: string): boolean {
  if (zone.length > 64) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

function invalid(detail: string): never {
  throw new GatewayError('AUTH_POLICY_INVALID', detail);
}

function list(value: unknown, name: string, max: number, pattern: RegExp): string[] {
  if (!Array.isArray(value) || value.length > max) invalid(`"${name}" must be an array of at most ${max}`);
  for (const item of value) {
    if (typeof item !== 'string' || !pattern.test(item)) invalid(`"${name}" holds an invalid entry`);
  }
  return value as string[];
}

function windowOf(value: unknown): TimeWindow {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    invalid('a time window must be an object');
  const { start, end, timeZone, ...rest } = value as Record<string, unknown>;
  if (Object.keys(rest).length > 0) invalid('a time window has only start, end and timeZone');
  if (typeof start !== 'string' || !HH_MM.test(start) || start === '24:00')
    invalid('time window "start" must be HH:MM');
  if (typeof end !== 'string' || !HH_MM.test(end) || end === '00:00' || end === start)
    invalid('time window "end" must be HH:MM (24:00 allowed), other than start');
  if (typeof timeZone !== 'string' || !isTimeZone(timeZone))
    invalid('time window "timeZone" is not an IANA zone');
  return { start, end, timeZone };
}

/** Parses the stored policy text; throws GatewayError(AUTH_POLICY_INVALID). */
export function parseClientPolicy(text: string): ClientPolicy {
  if (Buffer.byteLength(text) > MAX_POLICY_BYTES) invalid('the policy exceeds 16 KiB');
  let value: unknown;
  try {
    value = parseJsonBody(Buffer.from(text, 'utf8'));
  } catch {
    invalid('the policy is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    invalid('the policy must be a JSON object');
  const { lanes, equipment, timeWindows, ...rest } = value as Record<string, unknown>;
  if (Object.keys(rest).length > 0) invalid('the policy has only lanes, equipment and timeWindows');
  const policy: ClientPolicy = {};
  if (lanes !== undefined) policy.lanes = list(lanes, 'lanes', 256, ID_PATTERN);
  if (equipment !== undefined) policy.equipment = list(equipment, 'equipment', 16, EQUIPMENT);
  if (timeWindows !== undefined) {
    if (!Array.isArray(timeWindows) || timeWindows.length > 32)
      invalid('"timeWindows" must be an array of at most 32');
    policy.timeWindows = timeWindows.map(windowOf);
  }
  return policy;
}
