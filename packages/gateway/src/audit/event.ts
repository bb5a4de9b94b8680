/**
 * The shape of an audit entry. Every security decision in the gateway becomes one of these and goes
 * through AuditLog.append (ROADMAP: the single seam later detection, SIEM export and witnesses read).
 * Entries name actors by id and certificate thumbprint and payloads by digest — never a key, token or
 * raw payload (CONVENTIONS.md §5).
 */
import type { AuditValue } from './canonical-json.ts';

export type AuditClass =
  | 'telemetry.batch.accepted'
  | 'telemetry.batch.rejected'
  | 'tender.decided'
  | 'pki.certificate.issued'
  | 'gateway.started'
  | 'gateway.stopped';

export interface AuditActor {
  kind: 'vehicle' | 'partner' | 'operator' | 'system';
  id: string;
  certSha256?: string;
}

export interface AuditEvent {
  class: AuditClass;
  actor: AuditActor;
  /** What the decision was about, e.g. { kind: 'tender', id } or { kind: 'telemetry-batch', counter }. */
  subject: { kind: string; id: string };
  outcome: 'accepted' | 'declined' | 'rejected' | 'recorded';
  reasons?: readonly string[];
  details?: { [key: string]: AuditValue };
}

/** The canonical, versioned document that is hashed into the log. */
export function auditDocument(event: AuditEvent, time: Date): { [key: string]: AuditValue } {
  const actor: { [key: string]: AuditValue } = { kind: event.actor.kind, id: event.actor.id };
  if (event.actor.certSha256 !== undefined) actor.certSha256 = event.actor.certSha256;
  const doc: { [key: string]: AuditValue } = {
    v: 1,
    time: time.toISOString(),
    class: event.class,
    actor,
    subject: { kind: event.subject.kind, id: event.subject.id },
    outcome: event.outcome,
  };
  if (event.reasons !== undefined) doc.reasons = [...event.reasons];
  if (event.details !== undefined) doc.details = event.details;
  return doc;
}
