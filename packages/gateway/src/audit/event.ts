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
  // Revocation (pki/revocation/): a certificate revoked; a revoked certificate's connection or request
  // refused; open connections of a revoked certificate closed; a CRL signed.
  | 'pki.certificate.revoked'
  | 'pki.certificate.path-refused'
  | 'pki.certificate.revoked-use-refused'
  | 'pki.connection.terminated'
  | 'pki.crl.issued'
  // Enrollment and rotation (pki/enrollment/, pki/rotation/): a bootstrap token created; an EST request
  // refused; a forced rotation ordered for a certificate.
  | 'pki.enrollment.token-created'
  | 'pki.enrollment.refused'
  | 'pki.rotation.forced'
  // Resource server (auth/resource/, auth/policy/): an access token or DPoP proof refused on a
  // control-plane route; a tender refused by the client's lane / equipment / time-window policy.
  | 'auth.token.refused'
  | 'auth.policy.refused'
  // Authorization server (auth/server/): a token issued or a token request refused; a failed client
  // authentication and a lockout it started; token-endpoint rate limiting (at most one entry per key per
  // 10 s); a token revoked (RFC 7009); a client registered, suspended or given new keys (fleetgate partner).
  | 'auth.token.issued'
  | 'auth.token.request_refused'
  | 'auth.token.rate_limited'
  | 'auth.token.revoked'
  | 'auth.client.authentication_failed'
  | 'auth.client.locked'
  | 'auth.client.registered'
  | 'auth.client.suspended'
  | 'auth.client.keys_rotated'
  // Key custody and CA rollover (pki/rollover/): the TLS listeners installed a new trust bundle or server
  // certificate without a restart (details: anchors added and removed, the server certificate).
  | 'pki.trust-bundle.reloaded'
  // Telemetry ingest (telemetry/): a device key registered or revoked, a vehicle's signature policy set;
  // a vehicle flag raised or cleared (clock skew); a device's token bucket or connection cap refusing
  // (at most one entry per vehicle and limit per 10 s, with the count of refusals).
  | 'telemetry.device-key.registered'
  | 'telemetry.device-key.revoked'
  | 'telemetry.device-policy.set'
  | 'telemetry.vehicle-flag.raised'
  | 'telemetry.vehicle-flag.cleared'
  | 'telemetry.rate-limited'
  // Tender lifecycle (tendering/): a lifecycle transition (fleet event, cancellation); an operator's
  // decision on a tender in the review queue, or an override of a decision, each with its reason; a
  // transition the table refuses; an Idempotency-Key replayed with a different request.
  | 'tender.transitioned'
  | 'tender.reviewed'
  | 'tender.overridden'
  | 'tender.transition-refused'
  | 'tender.idempotency-conflict'
  // EDI X12 channel (edi-channel/): an interchange accepted (upload or drop directory) with its per-set
  // results; refused (duplicate ISA13, sender mismatch, parse failure with its EDI code); a test (ISA15=T)
  // interchange answered from the sandbox without creating anything.
  | 'edi.interchange.received'
  | 'edi.interchange.refused'
  | 'edi.interchange.sandbox'
  // Retention and redaction (audit/retention/): an entry's payload replaced by its redaction stub
  // (audit/redaction-format.ts); details name the `index` and the original `leafHash` (hex). One per index.
  | 'audit.entry.redacted'
  // Witnesses (audit/witness/client.ts): a witness answered that it holds another tree at the size it
  // cosigned for us (a fork: a split view of the log, or a witness compromised); a witness's answer whose
  // cosignature does not verify with the pinned vkey (or is dated in the future). At most one entry per
  // witness and class per minute, with the count of occurrences since the last one.
  | 'audit.witness.fork-reported'
  | 'audit.witness.cosignature-invalid'
  // Webhooks (webhooks/): a partner's endpoint created, deleted or given a new secret (never the secret
  // itself; the URL by origin and digest); a delivery dead after its last attempt, or redelivered by the
  // partner; a delivery attempt refused by the SSRF rules (internal address, redirect, left the allow-list).
  | 'webhook.endpoint.created'
  | 'webhook.endpoint.deleted'
  | 'webhook.endpoint.secret-rotated'
  | 'webhook.delivery.dead'
  | 'webhook.delivery.redelivered'
  | 'webhook.target.refused'
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
