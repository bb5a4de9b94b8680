/**
 * The gateway's in-process event stream: verified telemetry facts, tender decisions, refusals and
 * checkpoints. Metrics, the demo scoreboard and (later) detection, tracking and SIEM export subscribe
 * here; the same events can later be carried by NATS JetStream between nodes (ROADMAP).
 */
import { EventEmitter } from 'node:events';

export interface GatewayEventMap {
  'telemetry.accepted': [{ vehicleId: string; counter: string; records: number; auditIndex: number }];
  'telemetry.rejected': [{ vehicleId: string | null; code: string }];
  'tender.decided': [
    { partnerId: string; tenderId: string; decision: 'accepted' | 'declined'; reasons: string[] },
  ];
  'tls.refused': [{ listener: string; reason: string }];
  'audit.checkpoint': [{ size: number }];
}

export class GatewayEvents extends EventEmitter<GatewayEventMap> {}
