/**
 * Enforces a client's policy (policy.ts) on a tender before it is decided: the tender's lane (the
 * configured lane joining its origin and destination, tendering/decide.ts findLane), its equipment, and
 * its pickup window (time-window.ts) must each be allowed. A refusal is 403 with its own code
 * (AUTH_POLICY_LANE / _EQUIPMENT / _TIME_WINDOW), recorded in the audit log as `auth.policy.refused`
 * with the rule that failed, and nothing of the tender is stored. Rules are checked in that order and the
 * first failure is reported.
 *
 * Threat: a partner credential (or a stolen token) used for freight the partner is not contracted for —
 * another lane, hazardous equipment, or a pickup outside its agreed operating hours.
 */
import type { AuditEvent } from '../../audit/event.ts';
import type { AuditLog } from '../../audit/log.ts';
import type { LaneConfig } from '../../config/config.ts';
import type { ErrorCode } from '../../errors/codes.ts';
import { GatewayError } from '../../errors/gateway-error.ts';
import { findLane, type TenderRequest } from '../../tendering/decide.ts';
import type { ClientPolicy } from './policy.ts';
import { withinWindow } from './time-window.ts';

export interface PolicyViolation {
  code: Extract<ErrorCode, 'AUTH_POLICY_LANE' | 'AUTH_POLICY_EQUIPMENT' | 'AUTH_POLICY_TIME_WINDOW'>;
  detail: string;
}

/** The first rule of `policy` the tender breaks, or undefined when it is allowed. Pure. */
export function tenderPolicyViolation(
  policy: ClientPolicy,
  tender: Pick<TenderRequest, 'origin' | 'destination' | 'equipment' | 'pickupWindow'>,
  lanes: readonly LaneConfig[],
): PolicyViolation | undefined {
  if (policy.lanes !== undefined) {
    const lane = findLane(lanes, tender.origin, tender.destination);
    if (lane === undefined || !policy.lanes.includes(lane.id)) {
      return {
        code: 'AUTH_POLICY_LANE',
        detail: lane === undefined ? 'no served lane joins origin and destination' : `lane ${lane.id}`,
      };
    }
  }
  if (policy.equipment !== undefined && !policy.equipment.includes(tender.equipment)) {
    return { code: 'AUTH_POLICY_EQUIPMENT', detail: `equipment ${tender.equipment}` };
  }
  if (policy.timeWindows !== undefined) {
    const from = new Date(tender.pickupWindow.start);
    const to = new Date(tender.pickupWindow.end);
    if (!policy.timeWindows.some((w) => withinWindow(from, to, w))) {
      return { code: 'AUTH_POLICY_TIME_WINDOW', detail: 'the pickup window is outside the allowed hours' };
    }
  }
  return undefined;
}

export interface PolicySubject {
  clientId: string;
  tenant: string;
  certSha256: string;
  tokenId: string;
}

/** Throws GatewayError(AUTH_POLICY_*) after auditing when the tender breaks the client's policy. */
export async function enforceTenderPolicy(
  deps: { audit: AuditLog; lanes: readonly LaneConfig[] },
  subject: PolicySubject,
  policy: ClientPolicy,
  tender: TenderRequest,
): Promise<void> {
  const violation = tenderPolicyViolation(policy, tender, deps.lanes);
  if (violation === undefined) return;
  await deps.audit.append(policyRefusedEvent(subject, tender, violation));
  throw new GatewayError(violation.code, violation.detail);
}

/** The `auth.policy.refused` audit event of a tender that breaks its client's policy (both channels). */
export function policyRefusedEvent(
  subject: PolicySubject,
  tender: TenderRequest,
  violation: PolicyViolation,
): AuditEvent {
  return {
    class: 'auth.policy.refused',
    actor: { kind: 'partner', id: subject.clientId, certSha256: subject.certSha256 },
    subject: { kind: 'tender-request', id: tender.reference },
    outcome: 'rejected',
    reasons: [violation.code],
    details: {
      tenant: subject.tenant,
      tokenId: subject.tokenId,
      origin: tender.origin,
      destination: tender.destination,
      equipment: tender.equipment,
      pickupStart: tender.pickupWindow.start,
      pickupEnd: tender.pickupWindow.end,
    },
  };
}
