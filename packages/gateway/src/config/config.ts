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
  /** The partner's EDI X12 identity (issue 6 §6); absent: no EDI. docs/tendering.md "Transport". */
  edi?: PartnerEdiConfig;
  /** Webhooks (issue 6 §5): URL prefixes the partner's endpoints must lie in; absent: no endpoint allowed. */
  webhooks?: { allowedUrls: string[] };
}

/** Who a partner is in its interchanges: ISA05/ISA06 (and GS02) must be these, or the file is refused. */
export interface PartnerEdiConfig {
  isaQualifier: string;
  isaId: string;
  /** GS02 the partner sends; absent: not checked. */
  gsId?: string;
  /** IANA zone meant by the partner's local G62 times (time code LT or none). */
  localTimeZone: string;
  /** Our SCAC in messages to this partner; absent: edi.scac. */
  scac?: string;
}

/** Our EDI X12 identity and the drop directory (issue 6 §6); docs/tendering.md "Transport". */
export interface EdiConfig {
  /** ISA07/ISA08 a partner must address us with, and ISA05/ISA06 of what we send. */
  ourIsaQualifier: string;
  ourIsaId: string;
  /** GS02 of what we send. */
  ourGsId: string;
  /** Our Standard Carrier Alpha Code (990 B101, 214 B1003). */
  scac: string;
  /** Watched directory for batch partners (absolute, or relative to the data directory); absent: off. */
  dropDirectory?: string;
  /** How often the outbound consumer and the drop-directory scan run. */
  pollIntervalMs: number;
  /** ISA15=T interchanges a partner may send in any 60 s, per gateway node (429 + Retry-After beyond). */
  sandboxPerMinute: number;
}

export function defaultEdiConfig(): EdiConfig {
  return {
    ourIsaQualifier: 'ZZ',
    ourIsaId: 'FLEETGATE',
    ourGsId: 'FLEETGATE',
    scac: 'FGAT',
    pollIntervalMs: 1000,
    sandboxPerMinute: 30,
  };
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
    /** A batch timed further in the future than this is refused, and so is a fresh one further in the past. */
    maxClockSkewSeconds: number;
    /**
     * A batch older than the skew limit is a delayed delivery (drained from a vehicle's offline spool):
     * accepted up to this age, and never counted as clock skew.
     */
    maxBatchAgeSeconds: number;
  };
  tendering: { maxWeightKg: number; hazmatAllowed: boolean };
  lanes: LaneConfig[];
  fleet: { vehicles: string[] };
  partners: PartnerConfig[];
  /** The audit log: origin, checkpoint cadence, sequencer back-pressure, read API page size; docs/audit.md. */
  audit: AuditConfig;
  /** SIEM export of audit entries as OCSF events (issue 7 §8); default no sinks; docs/audit.md "SIEM export". */
  auditExport: AuditExportConfig;
  log: { level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent' };
  /** EST enrollment (RFC 7030) on the public listener; docs/pki.md "Enrollment (EST)". */
  enrollment: EnrollmentConfig;
  /** Certificate rotation with overlap; docs/pki.md "Rotation". */
  rotation: RotationConfig;
  /** Access-token checks on control-plane routes; docs/auth.md "Tokens", "DPoP", "External issuers". */
  resourceServer: ResourceServerConfig;
  /** The authorization server (issuer, audience, token endpoint limits); docs/auth.md "Authorization server". */
  auth: AuthConfig;
  /** CRL, OCSP and connection enforcement of revocations; docs/pki.md "Revocation". */
  revocation: RevocationConfig;
  /** Custody of CA private keys (encrypted file or PKCS#11); docs/pki.md "Key custody". */
  keys: KeysConfig;
  /** Session-ticket key rotation and live reload of the trust bundle; docs/pki.md "TLS policy". */
  tls: TlsConfig;
  /** Telemetry over MQTT through a broker (Mosquitto), off by default; docs/mqtt.md. */
  mqtt: MqttConfig;
  /** Telemetry ingest: signature suites, clock-skew flag, per-device limits, group commit; docs/telemetry.md. */
  telemetryIngest: TelemetryIngestConfig;
  /** Tender decision engine, idempotency keys (issue 6); docs/tendering.md "Decision engine". */
  tenderEngine: TenderEngineConfig;
  /** CA hierarchy options (issue 3): per-tenant issuing CAs; docs/pki.md "Hierarchy". */
  pki: PkiConfig;
  /** EDI X12 channel: our identity, the drop directory (issue 6 §6); docs/tendering.md "Transport". */
  edi: EdiConfig;
  /** Webhook dispatcher: retries, timeouts, SSRF switches (issue 6 §5); docs/tendering.md "Webhooks". */
  webhooks: WebhooksConfig;
}

export interface PkiConfig {
  /** Tenants that get their own issuing intermediate under the root at `fleetgate init`; default none. */
  tenantIssuingCas: string[];
}

export function defaultPkiConfig(): PkiConfig {
  return { tenantIssuingCas: [] };
}

export interface EnrollmentConfig {
  /** Default lifetime of a bootstrap token made by `fleetgate device enroll`. */
  tokenTtlSeconds: number;
  /** Lifetime of a device certificate issued over EST. */
  deviceValidityDays: number;
  /** Largest PKCS#10 request accepted (DER bytes, before base64). */
  maxCsrBytes: number;
  /** PEM bundle of manufacturer CAs (absolute, or relative to the data directory); absent: off. */
  manufacturerCaFile?: string;
}

export interface RotationConfig {
  /** Renewal is due at this fraction of a certificate's lifetime (the edge SDK's default too). */
  renewAtFraction: number;
  /** Overlap: how long a superseded certificate stays valid after its successor is issued. */
  graceSeconds: number;
  /** How often the rotation job revokes certificates whose overlap has ended. */
  checkIntervalSeconds: number;
}

export function defaultEnrollmentConfig(): EnrollmentConfig {
  return { tokenTtlSeconds: 86_400, deviceValidityDays: 90, maxCsrBytes: 4096 };
}

export function defaultRotationConfig(): RotationConfig {
  return { renewAtFraction: 2 / 3, graceSeconds: 86_400, checkIntervalSeconds: 60 };
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
      maxBatchAgeSeconds: 7 * 86_400,
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
    partners: [
      {
        id: 'acme-tms',
        tenant: 'acme',
        edi: { isaQualifier: 'ZZ', isaId: 'ACMETMS', localTimeZone: 'America/Chicago' },
      },
    ],
    audit: { origin: 'fleetgate.local/audit', checkpointIntervalMs: 1000, ...defaultAuditSequencerConfig() },
    auditExport: defaultAuditExportConfig(),
    log: { level: 'info' },
    enrollment: defaultEnrollmentConfig(),
    rotation: defaultRotationConfig(),
    resourceServer: defaultResourceServerConfig(),
    auth: defaultAuthConfig(),
    revocation: defaultRevocationConfig(),
    keys: defaultKeysConfig(),
    tls: defaultTlsConfig(),
    mqtt: defaultMqttConfig(),
    telemetryIngest: defaultTelemetryIngestConfig(),
    tenderEngine: defaultTenderEngineConfig(),
    pki: defaultPkiConfig(),
    edi: defaultEdiConfig(),
    webhooks: defaultWebhooksConfig(),
  };
}

export interface ResourceServerConfig {
  /** Allowed clock difference for access-token exp/nbf/iat and DPoP proof iat. */
  clockSkewSeconds: number;
  /** Larger access tokens are refused before decoding (the checklist's 8 KiB). */
  maxTokenBytes: number;
  dpop: {
    /** Oldest DPoP proof accepted (its iat), also how long its jti is remembered. */
    proofMaxAgeSeconds: number;
    /** Require a server nonce (RFC 9449 §9) in every proof. */
    nonceRequired: boolean;
    /** A nonce is valid in its time slot and the next one. */
    nonceSlotSeconds: number;
    /** Asymmetric JWS algorithms accepted for proofs. */
    algorithms: string[];
  };
  /** Tokens from other authorization servers, configured by their RFC 8414 metadata. */
  externalIssuers: ExternalIssuerConfig[];
}

export interface ExternalIssuerConfig {
  /** Must equal the metadata's `issuer` and the tokens' `iss` exactly. */
  issuer: string;
  /** https URL of the RFC 8414 (or OpenID Connect discovery) document. */
  metadataUrl: string;
  /** The `aud` value this issuer puts in tokens for fleetgate. */
  audience: string;
  /** Asymmetric JWS algorithms accepted from this issuer. */
  algorithms: string[];
  /** Accepted JOSE `typ` values (RFC 9068: at+jwt). */
  tokenTypes: string[];
  /** Claim naming the client (a partner id registered in fleetgate); `azp` is tried when absent. */
  clientIdClaim: string;
  /** PEM trust anchors for the issuer's TLS (absolute, or relative to the data directory); absent: system CAs. */
  caFile?: string;
  /** An unknown kid refreshes the JWKS at most this often. */
  jwksMinRefreshSeconds: number;
  /** The cached JWKS and metadata are refetched after this long. */
  jwksMaxAgeSeconds: number;
}

export const DPOP_ALGORITHMS = ['ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519', 'PS256', 'RS256'] as const;

export function defaultResourceServerConfig(): ResourceServerConfig {
  return {
    clockSkewSeconds: 30,
    maxTokenBytes: 8192,
    dpop: {
      proofMaxAgeSeconds: 60,
      nonceRequired: true,
      nonceSlotSeconds: 60,
      algorithms: [...DPOP_ALGORITHMS],
    },
    externalIssuers: [],
  };
}

export function defaultExternalIssuer(
  base: Pick<ExternalIssuerConfig, 'issuer' | 'metadataUrl' | 'audience'>,
): ExternalIssuerConfig {
  return {
    ...base,
    algorithms: ['RS256', 'PS256', 'ES256'],
    tokenTypes: ['at+jwt', 'application/at+jwt'],
    clientIdClaim: 'client_id',
    jwksMinRefreshSeconds: 30,
    jwksMaxAgeSeconds: 600,
  };
}

/** A token bucket: `burst` requests at once, refilled at `perSecond`. */
export interface TokenBucketConfig {
  burst: number;
  perSecond: number;
}

export interface AuthConfig {
  /** `iss` of fleetgate's access tokens and of the RFC 8414 metadata: the control plane's URL. */
  issuer: string;
  /** `aud` of fleetgate's access tokens (RFC 9068 §3). */
  audience: string;
  /** The public listener's URL: the metadata's `jwks_uri` is `${publicUrl}/oauth/jwks`. */
  publicUrl: string;
  /**
   * A second TLS 1.3 listener that serves only /oauth/*, requests a client certificate but does not
   * require one from the fleetgate CA: self_signed_tls_client_auth, and private_key_jwt + DPoP clients
   * without a certificate. null (the default): off — the control plane still serves /oauth/* to clients
   * with a fleetgate certificate.
   */
  tokenListener: ListenerConfig | null;
  /** Token-endpoint limits per claimed client id and per remote address (429 + Retry-After). */
  rateLimits: { perClient: TokenBucketConfig; perAddress: TokenBucketConfig };
  /** Lockout after `threshold` consecutive failed client authentications: base × 2^(n − threshold), capped. */
  lockout: { threshold: number; baseSeconds: number; maxSeconds: number };
  /** Allowed clock difference for client assertions and token-endpoint DPoP proofs. */
  clockSkewSeconds: number;
  /** Longest client assertion accepted (exp − now); its jti is remembered that long. */
  assertionMaxLifetimeSeconds: number;
}

export function defaultAuthConfig(): AuthConfig {
  return {
    issuer: 'https://localhost:8443',
    audience: 'urn:fleetgate:control-plane',
    publicUrl: 'https://localhost:8445',
    tokenListener: null,
    rateLimits: { perClient: { burst: 20, perSecond: 2 }, perAddress: { burst: 60, perSecond: 10 } },
    lockout: { threshold: 5, baseSeconds: 2, maxSeconds: 900 },
    clockSkewSeconds: 30,
    assertionMaxLifetimeSeconds: 300,
  };
}

export interface RevocationConfig {
  /** How often the revoked-serial set is re-read from the store (revocations by other nodes or the CLI). */
  refreshIntervalMs: number;
  /** CRL validity: nextUpdate - thisUpdate. */
  crlValiditySeconds: number;
  /** The CRL is reissued this long after its thisUpdate even without a change (before nextUpdate). */
  crlReissueSeconds: number;
  /** OCSP responses: nextUpdate - thisUpdate. */
  ocspValiditySeconds: number;
}

export function defaultRevocationConfig(): RevocationConfig {
  return {
    refreshIntervalMs: 1000,
    crlValiditySeconds: 3600,
    crlReissueSeconds: 1800,
    ocspValiditySeconds: 300,
  };
}

export interface KeysConfig {
  /** Where NEW CA keys are created: 'file' (encrypted local file, the default) or 'pkcs11' (an HSM). */
  provider: 'file' | 'pkcs11';
  file: {
    /** Environment variable with the passphrase; used when it is set. */
    passphraseEnv: string;
    /** Otherwise this 0600 file (absolute, or relative to the data directory); generated if absent. */
    passphraseFile: string;
    /** scrypt cost as log2 N (15-20). */
    scryptLogN: number;
  };
  pkcs11: {
    /** Absolute path of the PKCS#11 module. */
    module: string;
    /** Label of the token that holds the CA keys. */
    tokenLabel: string;
    /** Environment variable with the user PIN; used when it is set. */
    pinEnv: string;
    /** Otherwise this 0600 file (absolute, or relative to the data directory); null: the variable only. */
    pinFile: string | null;
  };
}

export function defaultKeysConfig(): KeysConfig {
  return {
    provider: 'file',
    file: {
      passphraseEnv: 'FLEETGATE_CA_PASSPHRASE',
      passphraseFile: 'secrets/ca-passphrase',
      scryptLogN: 15,
    },
    pkcs11: {
      module: '/usr/lib/softhsm/libsofthsm2.so',
      tokenLabel: 'fleetgate',
      pinEnv: 'FLEETGATE_PKCS11_PIN',
      pinFile: null,
    },
  };
}

export interface TlsConfig {
  /** Session-ticket keys are replaced by fresh random ones this often (every TLS listener). */
  ticketKeyRotationMinutes: number;
  /** How often ca.pem and the server certificate are checked for changes (reloaded without a restart). */
  reloadCheckIntervalMs: number;
}

export function defaultTlsConfig(): TlsConfig {
  return { ticketKeyRotationMinutes: 60, reloadCheckIntervalMs: 1000 };
}

/** Envelope signature suites by their core names (core/signature/algorithm.ts). */
export const TELEMETRY_ALGORITHMS = [
  'ed25519',
  'ecdsa-p256-sha256',
  'hmac-sha256',
  'ed25519+ml-dsa-65',
] as const;

export interface TelemetryIngestConfig {
  /** Suites accepted at all; a signature of another suite is TELEMETRY_UNSUPPORTED_ALGORITHM. */
  algorithms: (typeof TELEMETRY_ALGORITHMS)[number][];
  /** A device clock further than this from server time raises the vehicle's clock_skew flag (not a refusal). */
  clockSkewWarnSeconds: number;
  /** Per-device token buckets (per gateway node): records/s and envelope bytes/s; 429 + Retry-After. */
  rateLimits: { records: TokenBucketConfig; bytes: TokenBucketConfig };
  /** Live TLS connections per vehicle on the telemetry listener; requests on extra ones answer 429. */
  maxConnectionsPerDevice: number;
  /** Group commit: verified envelopes collected up to maxDelayMs or maxBatches are written in one transaction. */
  groupCommit: { maxDelayMs: number; maxBatches: number; maxQueuedRecords: number };
  /** How long a vehicle's device keys and signature policy are cached before re-reading the store. */
  deviceKeyCacheMs: number;
}

export function defaultTelemetryIngestConfig(): TelemetryIngestConfig {
  return {
    algorithms: [...TELEMETRY_ALGORITHMS],
    clockSkewWarnSeconds: 30,
    rateLimits: {
      records: { burst: 50_000, perSecond: 5_000 },
      bytes: { burst: 32 * 1_048_576, perSecond: 4 * 1_048_576 },
    },
    maxConnectionsPerDevice: 4,
    groupCommit: { maxDelayMs: 2, maxBatches: 256, maxQueuedRecords: 200_000 },
    deviceKeyCacheMs: 1_000,
  };
}

export interface MqttConfig {
  /** Subscribe to vehicle telemetry on the broker at `url` (docs/mqtt.md). */
  enabled: boolean;
  /** `mqtts://host:port` of the broker: TLS only, never plain MQTT. */
  url: string;
  /** Name the broker's certificate must carry when it differs from the URL's host; null: the host. */
  servername: string | null;
  /** MQTT client id of this node's subscriber; unique per node (the broker keeps its session). */
  clientId: string;
  /** Shared-subscription group ($share/<group>/fleet/+/telemetry): the nodes of one group split the load. */
  sharedGroup: string | null;
  /** Subscriber connections of this node in the group (parallel ingest; more than 1 needs a group). */
  connections: number;
  /** Delay before reconnecting to the broker after the connection is lost. */
  reconnectMs: number;
  /** How long the broker keeps this node's session, queueing its messages, while it is away. */
  sessionExpirySeconds: number;
  keepaliveSeconds: number;
}

export function defaultMqttConfig(): MqttConfig {
  return {
    enabled: false,
    url: 'mqtts://127.0.0.1:8883',
    servername: null,
    clientId: 'fleetgate-gateway',
    sharedGroup: 'fleetgate',
    connections: 1,
    reconnectMs: 1000,
    sessionExpirySeconds: 3600,
    keepaliveSeconds: 30,
  };
}

/** The tender decision engine beyond lanes and limits (issue 6; docs/tendering.md "Decision engine"). */
export interface TenderEngineConfig {
  /** ODD: the daily hours (UTC, "HH:MM", end may be "24:00"; end < start wraps midnight) a pickup may start. */
  operatingHours: { start: string; end: string };
  /** ODD: equipment the autonomous driver is qualified to pull. */
  oddEquipment: string[];
  /** Trucks available for loads at one time; null: the number of configured fleet vehicles. */
  fleetSize: number | null;
  /** Planning speed for window feasibility and the ETA. */
  averageSpeedKmh: number;
  /** Road distance per lane id; a lane without one goes to human review (feasibility unknown). */
  laneDistanceKm: Record<string, number>;
  /** A window that is feasible with less slack than this goes to human review. */
  reviewSlackMinutes: number;
  /** A pickup further ahead than this goes to human review; null: no horizon. */
  planningHorizonDays: number | null;
  /** How long an Idempotency-Key and its response are kept. */
  idempotencyTtlSeconds: number;
}

export function defaultTenderEngineConfig(): TenderEngineConfig {
  return {
    operatingHours: { start: '00:00', end: '24:00' },
    oddEquipment: ['dry_van', 'reefer'],
    fleetSize: null,
    averageSpeedKmh: 80,
    laneDistanceKm: { 'DAL-HOU': 385, 'FTW-ELP': 920 },
    reviewSlackMinutes: 30,
    planningHorizonDays: null,
    idempotencyTtlSeconds: 86_400,
  };
}

/** Audit log settings (docs/audit.md "Back-pressure", "Read API"). */
export interface AuditConfig {
  origin: string;
  checkpointIntervalMs: number;
  /** append() calls queued for group sequencing before SERVICE_UNAVAILABLE. */
  maxPendingAppends: number;
  /** Transactions of one node waiting for the sequencer lock before SERVICE_UNAVAILABLE. */
  maxWaitingTransactions: number;
  /** Longest wait for the sequencer lock (ms) before SERVICE_UNAVAILABLE. */
  lockTimeoutMs: number;
  /** Retry-After (s) on SERVICE_UNAVAILABLE from the sequencer. */
  retryAfterSeconds: number;
  /** Most entries GET /v1/audit/entries returns at once. */
  maxEntriesPerPage: number;
  /** Per-class retention, 2-7 years, then payload redaction (docs/audit.md "Retention and redaction"). */
  retention: AuditRetentionConfig;
  /** C2SP tlog-witnesses asked to cosign each checkpoint (docs/audit.md "Witness"); default none. */
  witnesses: AuditWitnessConfig[];
}

/** One witness: its name, add-checkpoint URL prefix, cosignature/v1 vkey, and optional CA bundle. */
export interface AuditWitnessConfig {
  name: string;
  /** Submission prefix: https://…, or http:// on a loopback address only. POST <url>/add-checkpoint. */
  url: string;
  /** `<name>+<keyid>+<base64(0x04 || Ed25519 key)>`, pinned out of band. */
  vkey: string;
  /** PEM CA bundle for the witness's TLS certificate (absolute or data-dir relative); system roots otherwise. */
  caFile?: string;
}

export interface AuditRetentionConfig {
  /** Years an entry keeps its payload when no `classes` key matches its class. */
  defaultYears: number;
  /** Audit class, or a prefix of whole dot-separated segments (`telemetry`, `auth.token`) → years. */
  classes: Record<string, number>;
}

export function defaultAuditRetentionConfig(): AuditRetentionConfig {
  return { defaultYears: 7, classes: {} };
}

/** One SIEM destination; `name` keys its durable cursor (feed_cursors consumer `siem:<name>`). */
export type AuditExportSinkConfig = { name: string; batchSize: number } & (
  | {
      kind: 'jsonl';
      /** Directory of the JSONL files (absolute, or relative to the data directory). */
      directory: string;
      /** A file is closed and the next begun past this size, and at each UTC day. */
      maxFileBytes: number;
    }
  | {
      kind: 'syslog-tls';
      host: string;
      port: number;
      /** PEM CA bundle the collector's certificate must chain to (absolute or data-dir relative). */
      caFile: string;
      /** Client certificate and key (PEM) for a collector that requires mutual TLS. */
      certFile?: string;
      keyFile?: string;
      /** TLS server name to verify; default `host`. */
      servername?: string;
    }
  | {
      kind: 'https';
      /** https:// URL batches are POSTed to; redirects are never followed. */
      url: string;
      format: 'json-array' | 'ndjson';
      /** NAME of the environment variable holding a bearer token (the token is never in the config). */
      bearerTokenEnv?: string;
      /** PEM CA bundle for the receiver; default the system store. */
      caFile?: string;
      timeoutMs: number;
    }
);

export interface AuditExportConfig {
  sinks: AuditExportSinkConfig[];
  /** How often an idle sink looks for new entries. */
  pollIntervalMs: number;
  /** Retry backoff after a failed delivery: doubles from min to max. */
  retryMinMs: number;
  retryMaxMs: number;
}

export function defaultAuditExportConfig(): AuditExportConfig {
  return { sinks: [], pollIntervalMs: 1000, retryMinMs: 500, retryMaxMs: 60_000 };
}

/** Defaults for the audit keys added after origin and checkpointIntervalMs (absent keys get these). */
export function defaultAuditSequencerConfig(): Omit<AuditConfig, 'origin' | 'checkpointIntervalMs'> {
  return {
    maxPendingAppends: 50_000,
    maxWaitingTransactions: 512,
    lockTimeoutMs: 5_000,
    retryAfterSeconds: 1,
    maxEntriesPerPage: 1_000,
    retention: defaultAuditRetentionConfig(),
    witnesses: [],
  };
}

/** Webhook delivery to partners (issue 6 §5; docs/tendering.md "Webhooks", docs/operations.md). */
export interface WebhooksConfig {
  /** How often each node looks for new lifecycle changes and due deliveries (also woken on decisions). */
  pollIntervalMs: number;
  /** Attempts in one series before a delivery is dead (the dead-letter list). */
  maxAttempts: number;
  /** First retry delay; later ones are 6×, 24×, 120×, 720×… of it, with ±20 % jitter. */
  backoffBaseMs: number;
  /** Deliveries in flight per node (at most one per endpoint). */
  concurrency: number;
  /** Whole-attempt timeout: connect, TLS, request, response. */
  timeoutMs: number;
  /** Endpoints a partner may have. */
  maxEndpointsPerPartner: number;
  /** How long the previous secret keeps signing after a rotation. */
  secretOverlapSeconds: number;
  /** TEST AND DEVELOPMENT ONLY: allow loopback, private and link-local targets. Never in production. */
  allowPrivateAddresses: boolean;
  /** Extra CA certificates (PEM) trusted for receivers, besides the system roots; relative to the data directory. */
  trustedCaFile: string | null;
  /**
   * The site's own NAT64 /96 prefixes (e.g. "2001:db8:64::/96"): an address under one is judged by the
   * IPv4 address it embeds, as under 64:ff9b::/96, which always counts (webhooks/address-policy.ts).
   */
  nat64Prefixes: string[];
}

export function defaultWebhooksConfig(): WebhooksConfig {
  return {
    pollIntervalMs: 500,
    maxAttempts: 10,
    backoffBaseMs: 5_000,
    concurrency: 8,
    timeoutMs: 10_000,
    maxEndpointsPerPartner: 10,
    secretOverlapSeconds: 86_400,
    allowPrivateAddresses: false,
    trustedCaFile: null,
    nat64Prefixes: [],
  };
}
