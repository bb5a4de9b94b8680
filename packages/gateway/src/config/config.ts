/**
 * Gateway configuration: one JSON file (DIR/fleetgate.json) validated strictly — unknown keys, wrong
 * types and out-of-range values are refused with the path that is wrong — then environment overrides
 * (listed in docs/operations.md). Defaults here are the documented defaults.
 */

export interface ListenerConfig {
  host: string;
  port: number;
}

export interface LaneConfig {
  id: string;
  origin: string;
  destination: string;
  /** Serve the reverse direction too (hub to hub lanes usually are). */
  bidirectional: boolean;
  equipment: string[];
}

export interface PartnerConfig {
  id: string;
  tenant: string;
}

export interface GatewayConfig {
  listeners: {
    controlPlane: ListenerConfig;
    telemetry: ListenerConfig;
    public: ListenerConfig;
    ops: ListenerConfig;
  };
  store: { engine: 'pglite' } | { engine: 'postgres'; url: string };
  telemetry: {
    maxEnvelopeBytes: number;
    maxRecordsPerBatch: number;
    replayWindow: number;
    maxClockSkewSeconds: number;
  };
  tendering: { maxWeightKg: number; hazmatAllowed: boolean };
  lanes: LaneConfig[];
  fleet: { vehicles: string[] };
  partners: PartnerConfig[];
  audit: { origin: string; checkpointIntervalMs: number };
  log: { level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent' };
}

export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function defaultConfig(): GatewayConfig {
  return {
    listeners: {
      controlPlane: { host: '0.0.0.0', port: 8443 },
      telemetry: { host: '0.0.0.0', port: 8444 },
      public: { host: '0.0.0.0', port: 8445 },
      ops: { host: '127.0.0.1', port: 9090 },
    },
    store: { engine: 'pglite' },
    telemetry: {
      maxEnvelopeBytes: 1_048_576,
      maxRecordsPerBatch: 5_000,
      replayWindow: 1024,
      maxClockSkewSeconds: 300,
    },
    tendering: { maxWeightKg: 20_000, hazmatAllowed: false },
    lanes: [
      {
        id: 'DAL-HOU',
        origin: 'Dallas, TX',
        destination: 'Houston, TX',
        bidirectional: true,
        equipment: ['dry_van', 'reefer'],
      },
      {
        id: 'FTW-ELP',
        origin: 'Fort Worth, TX',
        destination: 'El Paso, TX',
        bidirectional: true,
        equipment: ['dry_van'],
      },
    ],
    fleet: { vehicles: Array.from({ length: 12 }, (_, i) => `TRK-${String(i + 1).padStart(3, '0')}`) },
    partners: [{ id: 'acme-tms', tenant: 'acme' }],
    audit: { origin: 'fleetgate.local/audit', checkpointIntervalMs: 1000 },
    log: { level: 'info' },
  };
}
