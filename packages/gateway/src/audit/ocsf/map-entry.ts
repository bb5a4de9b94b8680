/**
 * One stored audit entry → one OCSF 1.3 event (docs/audit.md "OCSF mapping"). Pure: the same entry
 * always gives the same event, so a SIEM can deduplicate re-sent events on `metadata.uid`
 * (`<origin>/<index>`; delivery is at-least-once).
 *
 * What is exported is what the entry holds — ids, certificate thumbprints, digests, decision and reason
 * codes — never more: entries never hold a secret or a raw payload (event.ts), and this mapping adds
 * nothing from anywhere else. A redacted entry (its payload replaced by the stub of
 * redaction-format.ts) exports as a minimal event that says so, with only the stub's class, time and
 * reason. An entry that is neither (a damaged row) exports as a Base Event naming the index, so the
 * export never stalls on it and the SIEM sees it; `fleetgate audit verify` reports the row.
 */
import type { AuditValue } from '../canonical-json.ts';
import { parseRedactionStub } from '../redaction-format.ts';
import { type OcsfClass, ocsfClassOfName, unknownClass } from './classes.ts';

export type OcsfJson = string | number | boolean | null | OcsfJson[] | { [key: string]: OcsfJson };

export const OCSF_VERSION = '1.3.0';
export const PRODUCT = { name: 'fleetgate', vendor_name: 'fleetgate' } as const;

/** The attributes every exported event has. */
export interface OcsfHead {
  class_uid: number;
  class_name: string;
  category_uid: number;
  category_name: string;
  activity_id: number;
  activity_name: string;
  type_uid: number;
  type_name: string;
  severity_id: number;
  severity: string;
  status_id: number;
  status: string;
  /** Milliseconds since the epoch (OCSF timestamp_t). */
  time: number;
  metadata: {
    version: string;
    product: { name: string; vendor_name: string };
    uid: string;
    log_name: string;
    sequence: number;
    event_code: string;
    original_time: string;
  };
}

export type OcsfEvent = OcsfHead & { message: string; [attribute: string]: OcsfJson };

/** A row of audit_entries: its index and the stored text (the canonical JSON entry, or a stub). */
export interface StoredEntry {
  index: number;
  entry: string;
}

const SEVERITY: Record<number, string> = {
  1: 'Informational',
  2: 'Low',
  3: 'Medium',
  4: 'High',
  5: 'Critical',
};
const STATUS: Record<number, string> = { 0: 'Unknown', 1: 'Success', 2: 'Failure' };
// OCSF user type_id: 1 User, 2 Admin, 3 System, 99 Other.
const USER_TYPE: Record<string, [number, string]> = {
  operator: [2, 'Admin'],
  system: [3, 'System'],
  partner: [99, 'Partner'],
  vehicle: [99, 'Vehicle'],
};

export function toOcsfEvent(stored: StoredEntry, origin: string): OcsfEvent {
  const stub = parseRedactionStub(stored.entry);
  if (stub !== null) {
    const c = ocsfClassOfName(stub.class);
    return {
      ...head(c, 1, 0, stored, origin, stub.class, stub.time),
      message: `audit entry ${stored.index} redacted (${stub.reason}): payload removed, leaf hash kept`,
      unmapped: {
        redacted: { leafHash: stub.leafHash, redactedAt: stub.redactedAt, reason: stub.reason },
      },
    };
  }
  const doc = parseDocument(stored.entry);
  if (doc === null) {
    return {
      ...head(unknownClass(''), 3, 0, stored, origin, 'unreadable', ''),
      message: `audit entry ${stored.index} is not a fleetgate audit document`,
      unmapped: { unreadable: true },
    };
  }
  const c = ocsfClassOfName(doc.class);
  const failed = doc.outcome === 'rejected' || doc.outcome === 'declined';
  const statusId = failed ? 2 : 1;
  const severityId = failed ? (c.failureSeverityId ?? 3) : (c.severityId ?? 1);
  const event: OcsfEvent = {
    ...head(c, severityId, statusId, stored, origin, doc.class, doc.time),
    message: `${doc.class} ${doc.outcome} ${doc.subject.kind} ${doc.subject.id}`,
  };
  if (doc.outcome !== 'recorded') {
    event.action_id = failed ? 2 : 1;
    event.action = failed ? 'Denied' : 'Allowed';
  }
  if (doc.reasons.length > 0) {
    event.status_code = doc.reasons[0] as string;
    event.status_detail = doc.reasons.join('; ');
  }
  const [typeId, typeName] = USER_TYPE[doc.actor.kind] ?? [99, doc.actor.kind];
  const actorUser: { [key: string]: OcsfJson } = { uid: doc.actor.id, type_id: typeId, type: typeName };
  event.actor =
    doc.actor.kind === 'system' ? { user: actorUser, app_name: 'fleetgate' } : { user: actorUser };
  const vehicle =
    doc.actor.kind === 'vehicle' ? doc.actor.id : doc.subject.kind === 'vehicle' ? doc.subject.id : undefined;
  if (vehicle !== undefined) event.device = { uid: vehicle, type_id: 99, type: 'Vehicle' };
  if (doc.actor.certSha256 !== undefined && c.classUid === 3002) {
    event.certificate = {
      fingerprints: [{ algorithm_id: 3, algorithm: 'SHA-256', value: doc.actor.certSha256 }],
    };
  }
  const subject = { uid: doc.subject.id, type: doc.subject.kind };
  switch (c.classUid) {
    case 3002:
      event.user = actorUser;
      event.service = { name: 'fleetgate' };
      break;
    case 3001:
      event.user = { uid: doc.subject.id, type_id: 99, type: doc.subject.kind };
      break;
    case 3004:
      event.entity = subject;
      break;
    case 6003:
      event.api = { operation: doc.class, service: { name: 'fleetgate' } };
      event.resources = [subject];
      break;
    case 2004:
      event.finding_info = {
        uid: event.metadata.uid,
        title: doc.class,
        ...(doc.reasons.length > 0 ? { types: [...doc.reasons] } : {}),
      };
      event.resources = [subject];
      break;
    case 6002:
      event.app = { name: 'fleetgate' };
      break;
    default:
      event.resources = [subject];
  }
  const unmapped: { [key: string]: OcsfJson } = {
    outcome: doc.outcome,
    actor: { kind: doc.actor.kind, id: doc.actor.id, ...certOf(doc.actor) },
    subject: { kind: doc.subject.kind, id: doc.subject.id },
  };
  if (doc.reasons.length > 0) unmapped.reasons = [...doc.reasons];
  if (doc.details !== undefined) unmapped.details = doc.details as OcsfJson;
  event.unmapped = unmapped;
  return event;
}

function head(
  c: OcsfClass,
  severityId: number,
  statusId: number,
  stored: StoredEntry,
  origin: string,
  eventCode: string,
  time: string,
): OcsfHead {
  const ms = Date.parse(time);
  return {
    class_uid: c.classUid,
    class_name: c.className,
    category_uid: c.categoryUid,
    category_name: c.categoryName,
    activity_id: c.activityId,
    activity_name: c.activityName,
    type_uid: c.classUid * 100 + c.activityId,
    type_name: `${c.className}: ${c.activityName}`,
    severity_id: severityId,
    severity: SEVERITY[severityId] ?? 'Other',
    status_id: statusId,
    status: STATUS[statusId] ?? 'Other',
    time: Number.isFinite(ms) ? ms : 0,
    metadata: {
      version: OCSF_VERSION,
      product: { ...PRODUCT },
      uid: `${origin}/${stored.index}`,
      log_name: origin,
      sequence: stored.index,
      event_code: eventCode,
      original_time: time,
    },
  };
}

function certOf(actor: AuditDoc['actor']): { certSha256?: string } {
  return actor.certSha256 === undefined ? {} : { certSha256: actor.certSha256 };
}

interface AuditDoc {
  class: string;
  time: string;
  actor: { kind: string; id: string; certSha256?: string };
  subject: { kind: string; id: string };
  outcome: string;
  reasons: string[];
  details?: { [key: string]: AuditValue };
}

/** The v1 audit document in an entry's text, checked field by field; null when it is not one. */
function parseDocument(text: string): AuditDoc | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return null;
  }
  if (!isObject(parsed) || parsed.v !== 1) return null;
  const { actor, subject } = parsed;
  if (
    typeof parsed.class !== 'string' ||
    typeof parsed.time !== 'string' ||
    typeof parsed.outcome !== 'string' ||
    !isObject(actor) ||
    typeof actor.kind !== 'string' ||
    typeof actor.id !== 'string' ||
    !isObject(subject) ||
    typeof subject.kind !== 'string' ||
    typeof subject.id !== 'string'
  ) {
    return null;
  }
  const reasons = Array.isArray(parsed.reasons)
    ? parsed.reasons.filter((r): r is string => typeof r === 'string')
    : [];
  return {
    class: parsed.class,
    time: parsed.time,
    actor: {
      kind: actor.kind,
      id: actor.id,
      ...(typeof actor.certSha256 === 'string' ? { certSha256: actor.certSha256 } : {}),
    },
    subject: { kind: subject.kind, id: subject.id },
    outcome: parsed.outcome,
    reasons,
    ...(isObject(parsed.details) ? { details: parsed.details as { [key: string]: AuditValue } } : {}),
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
