/**
 * Every refused EST request is a security decision and becomes one audit entry
 * ('pki.enrollment.refused'): the endpoint, the coded reason, the actor as far as it was established
 * (the vehicle a token or certificate names, with the certificate thumbprint; otherwise the marker
 * UNAUTHENTICATED, whose parentheses no vehicle id can contain), the remote address, and the digest of
 * the body — never the token or the body itself (CONVENTIONS.md §5).
 *
 * Refusals before authentication are audited too (detection rules look for bursts of them); the
 * listener's size limits bound what one request can cost.
 */
import { toHex, utf8 } from '@fleetgate/core/bytes';
import { sha256 } from '@fleetgate/core/hash';
import type { AuditActor } from '../../../audit/event.ts';
import type { AuditLog } from '../../../audit/log.ts';
import type { GatewayError } from '../../../errors/gateway-error.ts';

export const UNAUTHENTICATED: AuditActor = { kind: 'vehicle', id: '(unauthenticated)' };

export interface Refusal {
  readonly endpoint: 'simpleenroll' | 'simplereenroll';
  readonly actor: AuditActor;
  readonly error: GatewayError;
  readonly remoteAddress: string;
  readonly body: string;
  readonly tokenId?: string;
}

export async function auditRefusal(audit: AuditLog, refusal: Refusal): Promise<void> {
  await audit.append({
    class: 'pki.enrollment.refused',
    actor: refusal.actor,
    subject: { kind: 'est-request', id: refusal.endpoint },
    outcome: 'rejected',
    reasons: [refusal.error.code],
    details: {
      remoteAddress: refusal.remoteAddress,
      bodySha256: toHex(sha256(utf8(refusal.body))),
      bodyBytes: refusal.body.length,
      ...(refusal.tokenId === undefined ? {} : { tokenId: refusal.tokenId }),
    },
  });
}
