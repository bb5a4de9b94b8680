/**
 * Which OCSF 1.3 event class and activity each audit class becomes (docs/audit.md "OCSF mapping"). The
 * switch is exhaustive over AuditClass: adding an audit class without deciding its OCSF class is a
 * compile error (the `never` check), and test/audit/ocsf-mapping.test.ts checks every class at run time.
 *
 * type_uid is class_uid * 100 + activity_id (OCSF "type_uid"). Choices, in short: authentication of a
 * certificate, token or client → Authentication (3002); a partner account's life → Account Change
 * (3001); certificates, keys, CRLs, trust bundles, device policy → Entity Management (3004); tender and
 * control-plane decisions, EDI interchanges, webhook deliveries → API Activity (6003); replay, tamper and abuse rejections and vehicle flags →
 * Detection Finding (2004), and so are a webhook URL refused as an internal target and a witness reporting
 * a fork or answering with a cosignature that does not verify; the log's own redactions → Event Log Activity (1008); start and stop →
 * Application Lifecycle (6002). A class name this gateway does not know (an entry written by a newer
 * version) becomes Base Event (0).
 */
import type { AuditClass } from '../event.ts';

export interface OcsfClass {
  classUid: number;
  className: string;
  categoryUid: number;
  categoryName: string;
  activityId: number;
  activityName: string;
  /** Severity when the decision succeeded; failures default to Medium unless `failureSeverityId`. */
  severityId?: number;
  failureSeverityId?: number;
}

const CATEGORY = {
  0: 'Uncategorized',
  1: 'System Activity',
  2: 'Findings',
  3: 'Identity & Access Management',
  6: 'Application Activity',
} as const;

type ClassKey =
  | 'authentication'
  | 'accountChange'
  | 'entityManagement'
  | 'apiActivity'
  | 'detectionFinding'
  | 'eventLogActivity'
  | 'applicationLifecycle'
  | 'baseEvent';

const CLASSES: Record<ClassKey, { uid: number; name: string; category: keyof typeof CATEGORY }> = {
  authentication: { uid: 3002, name: 'Authentication', category: 3 },
  accountChange: { uid: 3001, name: 'Account Change', category: 3 },
  entityManagement: { uid: 3004, name: 'Entity Management', category: 3 },
  apiActivity: { uid: 6003, name: 'API Activity', category: 6 },
  detectionFinding: { uid: 2004, name: 'Detection Finding', category: 2 },
  eventLogActivity: { uid: 1008, name: 'Event Log Activity', category: 1 },
  applicationLifecycle: { uid: 6002, name: 'Application Lifecycle', category: 6 },
  baseEvent: { uid: 0, name: 'Base Event', category: 0 },
};

function cls(
  key: ClassKey,
  activityId: number,
  activityName: string,
  severity: { ok?: number; failure?: number } = {},
): OcsfClass {
  const c = CLASSES[key];
  return {
    classUid: c.uid,
    className: c.name,
    categoryUid: c.category,
    categoryName: CATEGORY[c.category],
    activityId,
    activityName,
    ...(severity.ok === undefined ? {} : { severityId: severity.ok }),
    ...(severity.failure === undefined ? {} : { failureSeverityId: severity.failure }),
  };
}

// OCSF severity_id: 1 Informational, 2 Low, 3 Medium, 4 High, 5 Critical.
const LOW = 2;
const MEDIUM = 3;
const HIGH = 4;

/** The OCSF class and activity of an audit class (exhaustive). */
export function ocsfClassOf(auditClass: AuditClass): OcsfClass {
  switch (auditClass) {
    case 'telemetry.batch.accepted':
      return cls('apiActivity', 1, 'Create');
    case 'telemetry.batch.rejected':
      return cls('detectionFinding', 1, 'Create', { ok: MEDIUM, failure: MEDIUM });
    case 'tender.decided':
      return cls('apiActivity', 1, 'Create', { failure: 1 });
    case 'pki.certificate.issued':
      return cls('entityManagement', 1, 'Create');
    case 'pki.certificate.revoked':
      return cls('entityManagement', 9, 'Disable', { ok: MEDIUM });
    case 'pki.certificate.path-refused':
      return cls('authentication', 1, 'Logon');
    case 'pki.certificate.revoked-use-refused':
      return cls('authentication', 1, 'Logon', { ok: HIGH, failure: HIGH });
    case 'pki.connection.terminated':
      return cls('authentication', 2, 'Logoff');
    case 'pki.crl.issued':
      return cls('entityManagement', 1, 'Create');
    case 'pki.enrollment.token-created':
      return cls('entityManagement', 1, 'Create');
    case 'pki.enrollment.refused':
      return cls('entityManagement', 6, 'Enroll');
    case 'pki.rotation.forced':
      return cls('entityManagement', 3, 'Update', { ok: LOW });
    case 'auth.token.refused':
      return cls('authentication', 1, 'Logon');
    case 'auth.policy.refused':
      return cls('apiActivity', 1, 'Create');
    case 'auth.token.issued':
      return cls('authentication', 3, 'Authentication Ticket');
    case 'auth.token.request_refused':
      return cls('authentication', 3, 'Authentication Ticket');
    case 'auth.token.rate_limited':
      return cls('authentication', 3, 'Authentication Ticket', { ok: MEDIUM });
    case 'auth.token.revoked':
      return cls('authentication', 2, 'Logoff');
    case 'auth.client.authentication_failed':
      return cls('authentication', 1, 'Logon');
    case 'auth.client.locked':
      return cls('accountChange', 9, 'Lock', { ok: HIGH, failure: HIGH });
    case 'auth.client.registered':
      return cls('accountChange', 1, 'Create');
    case 'auth.client.suspended':
      return cls('accountChange', 5, 'Disable', { ok: MEDIUM });
    case 'auth.client.keys_rotated':
      return cls('accountChange', 99, 'Keys Rotated');
    case 'pki.trust-bundle.reloaded':
      return cls('entityManagement', 3, 'Update');
    case 'telemetry.device-key.registered':
      return cls('entityManagement', 1, 'Create');
    case 'telemetry.device-key.revoked':
      return cls('entityManagement', 9, 'Disable', { ok: MEDIUM });
    case 'telemetry.device-policy.set':
      return cls('entityManagement', 3, 'Update');
    case 'telemetry.vehicle-flag.raised':
      return cls('detectionFinding', 1, 'Create', { ok: MEDIUM });
    case 'telemetry.vehicle-flag.cleared':
      return cls('detectionFinding', 3, 'Close');
    case 'telemetry.rate-limited':
      return cls('detectionFinding', 1, 'Create', { ok: LOW, failure: LOW });
    case 'tender.transitioned':
      return cls('apiActivity', 3, 'Update');
    case 'tender.reviewed':
      return cls('apiActivity', 3, 'Update', { failure: 1 });
    case 'tender.overridden':
      return cls('apiActivity', 3, 'Update', { ok: LOW, failure: LOW });
    case 'tender.transition-refused':
      return cls('apiActivity', 3, 'Update', { failure: LOW });
    case 'tender.idempotency-conflict':
      return cls('apiActivity', 1, 'Create', { failure: LOW });
    case 'edi.interchange.received':
      return cls('apiActivity', 1, 'Create');
    case 'edi.interchange.refused':
      return cls('apiActivity', 1, 'Create', { ok: MEDIUM });
    case 'edi.interchange.sandbox':
      return cls('apiActivity', 1, 'Create');
    case 'webhook.endpoint.created':
      return cls('entityManagement', 1, 'Create');
    case 'webhook.endpoint.deleted':
      return cls('entityManagement', 4, 'Delete');
    case 'webhook.endpoint.secret-rotated':
      return cls('entityManagement', 3, 'Update');
    case 'webhook.delivery.dead':
      return cls('apiActivity', 99, 'Deliver', { ok: MEDIUM });
    case 'webhook.delivery.redelivered':
      return cls('apiActivity', 99, 'Deliver');
    case 'webhook.target.refused':
      return cls('detectionFinding', 1, 'Create', { ok: MEDIUM });
    case 'audit.entry.redacted':
      return cls('eventLogActivity', 99, 'Redact', { ok: LOW });
    case 'audit.witness.fork-reported':
      return cls('detectionFinding', 1, 'Create', { ok: HIGH, failure: HIGH });
    case 'audit.witness.cosignature-invalid':
      return cls('detectionFinding', 1, 'Create', { ok: MEDIUM });
    case 'gateway.started':
      return cls('applicationLifecycle', 3, 'Start');
    case 'gateway.stopped':
      return cls('applicationLifecycle', 4, 'Stop');
    default: {
      const unknown: never = auditClass;
      return unknownClass(unknown);
    }
  }
}

/** A class name no case above knows (read from the store): Base Event, activity Other. */
export function unknownClass(_name: string): OcsfClass {
  return cls('baseEvent', 99, 'Other');
}

/** ocsfClassOf for a class name read from the store, which may not be a known AuditClass (default case). */
export function ocsfClassOfName(name: string): OcsfClass {
  return ocsfClassOf(name as AuditClass);
}
