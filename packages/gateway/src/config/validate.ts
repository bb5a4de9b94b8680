/**
 * Strict validation of the configuration document. Hand-written (no schema library): the document is
 * small, and every failure names its JSON path so an operator can fix it in one read.
 */
import { parseWitnessVkey } from '../audit/witness/cosignature.ts';
import { parseNat64Prefix } from '../webhooks/address-policy.ts';
import {
  type AuditExportConfig,
  type AuditExportSinkConfig,
  type AuditRetentionConfig,
  type AuditWitnessConfig,
  type AuthConfig,
  defaultAuditExportConfig,
  defaultAuditSequencerConfig,
  defaultAuthConfig,
  defaultEdiConfig,
  defaultEnrollmentConfig,
  defaultExternalIssuer,
  defaultKeysConfig,
  defaultMqttConfig,
  defaultPkiConfig,
  defaultResourceServerConfig,
  defaultRevocationConfig,
  defaultRotationConfig,
  defaultTelemetryIngestConfig,
  defaultTenderEngineConfig,
  defaultTlsConfig,
  defaultWebhooksConfig,
  type EdiConfig,
  type EnrollmentConfig,
  type ExternalIssuerConfig,
  type GatewayConfig,
  ID_PATTERN,
  type KeysConfig,
  type LaneConfig,
  type ListenerConfig,
  type MqttConfig,
  type PartnerConfig,
  type PartnerEdiConfig,
  type PkiConfig,
  type ResourceServerConfig,
  type RevocationConfig,
  type RotationConfig,
  TELEMETRY_ALGORITHMS,
  type TelemetryIngestConfig,
  type TenderEngineConfig,
  type TlsConfig,
  type WebhooksConfig,
} from './config.ts';

export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  readonly problems: string[];

  constructor(problems: string[]) {
    super(`invalid configuration: ${problems.join('; ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

type Obj = Record<string, unknown>;

class Checker {
  readonly problems: string[] = [];

  object(value: unknown, path: string, keys: readonly string[]): Obj | undefined {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      this.problems.push(`${path}: must be an object`);
      return undefined;
    }
    for (const key of Object.keys(value)) {
      if (!keys.includes(key)) this.problems.push(`${path}.${key}: unknown key`);
    }
    return value as Obj;
  }

  int(value: unknown, path: string, min: number, max: number): number {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      this.problems.push(`${path}: must be an integer in [${min}, ${max}]`);
      return min;
    }
    return value;
  }

  string(value: unknown, path: string, pattern?: RegExp): string {
    if (
      typeof value !== 'string' ||
      value.length === 0 ||
      value.length > 2048 ||
      (pattern && !pattern.test(value))
    ) {
      this.problems.push(`${path}: must be a ${pattern ? `string matching ${pattern}` : 'non-empty string'}`);
      return '';
    }
    return value;
  }

  bool(value: unknown, path: string): boolean {
    if (typeof value !== 'boolean') this.problems.push(`${path}: must be a boolean`);
    return value === true;
  }

  array<T>(value: unknown, path: string, item: (v: unknown, p: string) => T, max = 10_000): T[] {
    if (!Array.isArray(value) || value.length > max) {
      this.problems.push(`${path}: must be an array of at most ${max} items`);
      return [];
    }
    return value.map((v, i) => item(v, `${path}[${i}]`));
  }

  enumOf<T extends string>(value: unknown, path: string, allowed: readonly T[]): T {
    if (typeof value !== 'string' || !allowed.includes(value as T)) {
      this.problems.push(`${path}: must be one of ${allowed.join(', ')}`);
      return allowed[0] as T;
    }
    return value as T;
  }
}

/** A witness's submission prefix: https, or plain http on a loopback address only (development). */
const WITNESS_URL_RE =
  /^(?:https:\/\/[A-Za-z0-9.-]+(?::\d{1,5})?|http:\/\/(?:127\.0\.0\.1|\[::1\]|localhost)(?::\d{1,5})?)(?:\/[A-Za-z0-9._~/-]*)?$/;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export function validateConfig(input: unknown): GatewayConfig {
  const c = new Checker();
  const root =
    c.object(input, '$', [
      'listeners',
      'store',
      'telemetry',
      'tendering',
      'lanes',
      'fleet',
      'partners',
      'audit',
      'auditExport',
      'log',
      'enrollment',
      'rotation',
      'resourceServer',
      'auth',
      'revocation',
      'keys',
      'tls',
      'mqtt',
      'telemetryIngest',
      'tenderEngine',
      'pki',
      'edi',
      'webhooks',
    ]) ?? {};

  const listener = (v: unknown, p: string): ListenerConfig => {
    const o = c.object(v, p, ['host', 'port']) ?? {};
    return {
      host: c.string(o.host, `${p}.host`, /^[0-9A-Za-z.:-]{1,253}$/),
      port: c.int(o.port, `${p}.port`, 0, 65535),
    };
  };
  const l = c.object(root.listeners, '$.listeners', ['controlPlane', 'telemetry', 'public', 'ops']) ?? {};
  const listeners = {
    controlPlane: listener(l.controlPlane, '$.listeners.controlPlane'),
    telemetry: listener(l.telemetry, '$.listeners.telemetry'),
    public: listener(l.public, '$.listeners.public'),
    ops: listener(l.ops, '$.listeners.ops'),
  };

  const s = c.object(root.store, '$.store', ['engine', 'url']) ?? {};
  const engine = c.enumOf(s.engine, '$.store.engine', ['pglite', 'postgres'] as const);
  const store: GatewayConfig['store'] =
    engine === 'postgres'
      ? { engine, url: c.string(s.url, '$.store.url', /^postgres(ql)?:\/\//) }
      : { engine };

  const t =
    c.object(root.telemetry, '$.telemetry', [
      'maxEnvelopeBytes',
      'maxRecordsPerBatch',
      'replayWindow',
      'maxClockSkewSeconds',
      'maxBatchAgeSeconds',
    ]) ?? {};
  const telemetry = {
    maxEnvelopeBytes: c.int(t.maxEnvelopeBytes, '$.telemetry.maxEnvelopeBytes', 1024, 16 * 1024 * 1024),
    maxRecordsPerBatch: c.int(t.maxRecordsPerBatch, '$.telemetry.maxRecordsPerBatch', 1, 100_000),
    replayWindow: c.int(t.replayWindow, '$.telemetry.replayWindow', 8, 65_536),
    maxClockSkewSeconds: c.int(t.maxClockSkewSeconds, '$.telemetry.maxClockSkewSeconds', 1, 86_400),
    // Absent in configs written before it existed: the default.
    maxBatchAgeSeconds:
      t.maxBatchAgeSeconds === undefined
        ? 7 * 86_400
        : c.int(t.maxBatchAgeSeconds, '$.telemetry.maxBatchAgeSeconds', 60, 366 * 86_400),
  };
  if (telemetry.replayWindow % 8 !== 0) c.problems.push('$.telemetry.replayWindow: must be a multiple of 8');

  const td = c.object(root.tendering, '$.tendering', ['maxWeightKg', 'hazmatAllowed']) ?? {};
  const tendering = {
    maxWeightKg: c.int(td.maxWeightKg, '$.tendering.maxWeightKg', 1, 100_000),
    hazmatAllowed: c.bool(td.hazmatAllowed, '$.tendering.hazmatAllowed'),
  };

  const lanes = c.array(root.lanes, '$.lanes', (v, p): LaneConfig => {
    const o = c.object(v, p, ['id', 'origin', 'destination', 'bidirectional', 'equipment']) ?? {};
    return {
      id: c.string(o.id, `${p}.id`, ID_PATTERN),
      origin: c.string(o.origin, `${p}.origin`),
      destination: c.string(o.destination, `${p}.destination`),
      bidirectional: c.bool(o.bidirectional, `${p}.bidirectional`),
      equipment: c.array(o.equipment, `${p}.equipment`, (e, q) => c.string(e, q, /^[a-z_]{1,32}$/), 16),
    };
  });

  const f = c.object(root.fleet, '$.fleet', ['vehicles']) ?? {};
  const fleet = { vehicles: c.array(f.vehicles, '$.fleet.vehicles', (v, p) => c.string(v, p, ID_PATTERN)) };

  const partners = c.array(root.partners, '$.partners', (v, p): PartnerConfig => {
    const o = c.object(v, p, ['id', 'tenant', 'edi', 'webhooks']) ?? {};
    const partner: PartnerConfig = {
      id: c.string(o.id, `${p}.id`, ID_PATTERN),
      tenant: c.string(o.tenant, `${p}.tenant`, ID_PATTERN),
    };
    if (o.edi !== undefined) partner.edi = partnerEdiSection(c, o.edi, `${p}.edi`);
    if (o.webhooks !== undefined) partner.webhooks = partnerWebhooksSection(c, o.webhooks, `${p}.webhooks`);
    return partner;
  });

  const a =
    c.object(root.audit, '$.audit', [
      'origin',
      'checkpointIntervalMs',
      'maxPendingAppends',
      'maxWaitingTransactions',
      'lockTimeoutMs',
      'retryAfterSeconds',
      'maxEntriesPerPage',
      'witnesses',
      'retention',
    ]) ?? {};
  // Sequencer and read-API keys (issue 7): absent keys get their defaults, so older files still load.
  const ad = { ...defaultAuditSequencerConfig(), ...a };
  const audit = {
    origin: c.string(a.origin, '$.audit.origin', /^[A-Za-z0-9.-]+(\/[A-Za-z0-9._-]+)*$/),
    checkpointIntervalMs: c.int(a.checkpointIntervalMs, '$.audit.checkpointIntervalMs', 50, 60_000),
    maxPendingAppends: c.int(ad.maxPendingAppends, '$.audit.maxPendingAppends', 1, 10_000_000),
    maxWaitingTransactions: c.int(ad.maxWaitingTransactions, '$.audit.maxWaitingTransactions', 1, 100_000),
    lockTimeoutMs: c.int(ad.lockTimeoutMs, '$.audit.lockTimeoutMs', 10, 600_000),
    retryAfterSeconds: c.int(ad.retryAfterSeconds, '$.audit.retryAfterSeconds', 1, 3_600),
    maxEntriesPerPage: c.int(ad.maxEntriesPerPage, '$.audit.maxEntriesPerPage', 1, 10_000),
    // Retention (docs/audit.md "Retention and redaction"): every period in [2, 7] years.
    retention: retentionSection(c, a.retention),
    // Witnesses (docs/audit.md "Witness"): each vkey must be a cosignature/v1 key of the witness's name.
    witnesses: c.array(
      ad.witnesses,
      '$.audit.witnesses',
      (v, p): AuditWitnessConfig => {
        const o = c.object(v, p, ['name', 'url', 'vkey', 'caFile']) ?? {};
        const w: AuditWitnessConfig = {
          name: c.string(o.name, `${p}.name`, /^[^\s+]{1,256}$/),
          url: c.string(o.url, `${p}.url`, WITNESS_URL_RE),
          vkey: c.string(o.vkey, `${p}.vkey`),
          ...(o.caFile === undefined ? {} : { caFile: c.string(o.caFile, `${p}.caFile`) }),
        };
        try {
          if (w.vkey !== '' && parseWitnessVkey(w.vkey).name !== w.name) {
            c.problems.push(`${p}.vkey: names another witness than ${p}.name`);
          }
        } catch {
          c.problems.push(`${p}.vkey: must be a cosignature/v1 (Ed25519, type 0x04) verifier key`);
        }
        return w;
      },
      16,
    ),
  };
  if (new Set(audit.witnesses.map((w) => w.name)).size !== audit.witnesses.length) {
    c.problems.push('$.audit.witnesses: names must be unique');
  }

  // auditExport (issue 7 §8): absent, or any key of it absent, gets the default (no sinks).
  const auditExport = auditExportSection(c, root.auditExport);

  const lg = c.object(root.log, '$.log', ['level']) ?? {};
  const log = { level: c.enumOf(lg.level, '$.log.level', LOG_LEVELS) };

  // enrollment and rotation (issue 3): an absent section gets its defaults, so older files still load.
  const en: Obj =
    root.enrollment === undefined
      ? { ...defaultEnrollmentConfig() }
      : (c.object(root.enrollment, '$.enrollment', [
          'tokenTtlSeconds',
          'deviceValidityDays',
          'maxCsrBytes',
          'manufacturerCaFile',
        ]) ?? {});
  const enrollment: EnrollmentConfig = {
    tokenTtlSeconds: c.int(en.tokenTtlSeconds, '$.enrollment.tokenTtlSeconds', 60, 30 * 86_400),
    deviceValidityDays: c.int(en.deviceValidityDays, '$.enrollment.deviceValidityDays', 1, 825),
    maxCsrBytes: c.int(en.maxCsrBytes, '$.enrollment.maxCsrBytes', 256, 65_536),
  };
  if (en.manufacturerCaFile !== undefined) {
    enrollment.manufacturerCaFile = c.string(en.manufacturerCaFile, '$.enrollment.manufacturerCaFile');
  }
  const ro: Obj =
    root.rotation === undefined
      ? { ...defaultRotationConfig() }
      : (c.object(root.rotation, '$.rotation', ['renewAtFraction', 'graceSeconds', 'checkIntervalSeconds']) ??
        {});
  if (typeof ro.renewAtFraction !== 'number' || !(ro.renewAtFraction > 0 && ro.renewAtFraction < 1)) {
    c.problems.push('$.rotation.renewAtFraction: must be a number strictly between 0 and 1');
  }
  const rotation: RotationConfig = {
    renewAtFraction: typeof ro.renewAtFraction === 'number' ? ro.renewAtFraction : 2 / 3,
    graceSeconds: c.int(ro.graceSeconds, '$.rotation.graceSeconds', 0, 90 * 86_400),
    checkIntervalSeconds: c.int(ro.checkIntervalSeconds, '$.rotation.checkIntervalSeconds', 1, 86_400),
  };

  // resourceServer (issue 4): absent, or any key of it absent, gets the default.
  const resourceServer = resourceServerSection(c, root.resourceServer);
  // auth (issue 4, authorization server): absent, or any key of it absent, gets the default.
  const auth = authSection(c, root.auth);
  // revocation (issue 3): absent, or any key of it absent, gets the default.
  const revocation = revocationSection(c, root.revocation);
  // keys and tls (issue 3, key custody and TLS policy): absent, or any key of them absent, get the default.
  const keys = keysSection(c, root.keys);
  const tls = tlsSection(c, root.tls);
  // mqtt (issue 5, MQTT transport): absent, or any key of it absent, gets the default (disabled).
  const mqtt = mqttSection(c, root.mqtt);
  // telemetryIngest (issue 5): absent, or any key of it absent, gets the default.
  const telemetryIngest = telemetryIngestSection(c, root.telemetryIngest);
  // tenderEngine (issue 6): absent, or any key of it absent, gets the default.
  const tenderEngine = tenderEngineSection(c, root.tenderEngine);
  // pki (issue 3, per-tenant issuing CAs): absent, or any key of it absent, gets the default.
  const pki = pkiSection(c, root.pki);
  // edi (issue 6, EDI channel): absent, or any key of it absent, gets the default.
  const edi = ediSection(c, root.edi);
  // webhooks (issue 6 §5): absent, or any key of it absent, gets the default.
  const webhooks = webhooksSection(c, root.webhooks);

  for (const [name, list] of [
    ['$.lanes', lanes.map((x) => x.id)],
    ['$.fleet.vehicles', fleet.vehicles],
    ['$.partners', partners.map((x) => x.id)],
    ['$.pki.tenantIssuingCas', pki.tenantIssuingCas],
  ] as const) {
    if (new Set(list).size !== list.length) c.problems.push(`${name}: ids must be unique`);
  }
  if (c.problems.length > 0) throw new ConfigError(c.problems);
  return {
    listeners,
    store,
    telemetry,
    tendering,
    lanes,
    fleet,
    partners,
    audit,
    auditExport,
    log,
    enrollment,
    rotation,
    resourceServer,
    auth,
    revocation,
    keys,
    tls,
    mqtt,
    telemetryIngest,
    tenderEngine,
    pki,
    edi,
    webhooks,
  };
}

// ISA05/ISA07 qualifiers (X12 I05) and ISA06/ISA08 ids (1–15, no separator characters); GS02/GS03 ids.
const ISA_QUALIFIER = /^([0-9]{2}|[A-Z]{2})$/;
const ISA_ID = /^[A-Za-z0-9][A-Za-z0-9 ._-]{0,14}$/;
const SCAC = /^[A-Z0-9]{2,4}$/;
const IANA_ZONE = /^[A-Za-z][A-Za-z0-9_+/-]{0,63}$/;

function partnerEdiSection(c: Checker, value: unknown, p: string): PartnerEdiConfig {
  const o = c.object(value, p, ['isaQualifier', 'isaId', 'gsId', 'localTimeZone', 'scac']) ?? {};
  const zone = c.string(o.localTimeZone, `${p}.localTimeZone`, IANA_ZONE);
  if (zone !== '' && !isIanaZone(zone)) c.problems.push(`${p}.localTimeZone: not an IANA time zone`);
  const out: PartnerEdiConfig = {
    isaQualifier: c.string(o.isaQualifier, `${p}.isaQualifier`, ISA_QUALIFIER),
    isaId: c.string(o.isaId, `${p}.isaId`, ISA_ID),
    localTimeZone: zone,
  };
  if (o.gsId !== undefined) out.gsId = c.string(o.gsId, `${p}.gsId`, ISA_ID);
  if (o.scac !== undefined) out.scac = c.string(o.scac, `${p}.scac`, SCAC);
  return out;
}

function isIanaZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

function ediSection(c: Checker, value: unknown): EdiConfig {
  const d = defaultEdiConfig();
  if (value === undefined) return d;
  const p = '$.edi';
  const keys = [
    'ourIsaQualifier',
    'ourIsaId',
    'ourGsId',
    'scac',
    'dropDirectory',
    'pollIntervalMs',
    'sandboxPerMinute',
  ];
  const o = { ...d, ...(c.object(value, p, keys) ?? {}) } as Obj;
  const out: EdiConfig = {
    ourIsaQualifier: c.string(o.ourIsaQualifier, `${p}.ourIsaQualifier`, ISA_QUALIFIER),
    ourIsaId: c.string(o.ourIsaId, `${p}.ourIsaId`, ISA_ID),
    ourGsId: c.string(o.ourGsId, `${p}.ourGsId`, ISA_ID),
    scac: c.string(o.scac, `${p}.scac`, SCAC),
    pollIntervalMs: c.int(o.pollIntervalMs, `${p}.pollIntervalMs`, 20, 600_000),
    sandboxPerMinute: c.int(o.sandboxPerMinute, `${p}.sandboxPerMinute`, 1, 10_000),
  };
  if (o.dropDirectory !== undefined) {
    out.dropDirectory = c.string(o.dropDirectory, `${p}.dropDirectory`, /^[^\0]{1,4096}$/);
  }
  return out;
}

function pkiSection(c: Checker, value: unknown): PkiConfig {
  const d = defaultPkiConfig();
  if (value === undefined) return d;
  const o = c.object(value, '$.pki', Object.keys(d)) ?? {};
  return {
    tenantIssuingCas:
      o.tenantIssuingCas === undefined
        ? d.tenantIssuingCas
        : c.array(o.tenantIssuingCas, '$.pki.tenantIssuingCas', (v, p) => c.string(v, p, ID_PATTERN)),
  };
}

const JWS_ALG = /^(ES256|ES384|ES512|EdDSA|Ed25519|PS256|PS384|PS512|RS256|RS384|RS512)$/;

function resourceServerSection(c: Checker, value: unknown): ResourceServerConfig {
  const d = defaultResourceServerConfig();
  if (value === undefined) return d;
  const p = '$.resourceServer';
  const o = c.object(value, p, ['clockSkewSeconds', 'maxTokenBytes', 'dpop', 'externalIssuers']) ?? {};
  const or = <T>(v: unknown, fallback: T, read: (v: unknown) => T): T =>
    v === undefined ? fallback : read(v);
  const algs = (v: unknown, q: string) =>
    c.array(v, q, (a, r) => c.string(a, r, JWS_ALG), 16).filter((a) => a !== '');
  const dp = o.dpop === undefined ? {} : (c.object(o.dpop, `${p}.dpop`, Object.keys(d.dpop)) ?? {});
  const dpop = {
    proofMaxAgeSeconds: or(dp.proofMaxAgeSeconds, d.dpop.proofMaxAgeSeconds, (v) =>
      c.int(v, `${p}.dpop.proofMaxAgeSeconds`, 5, 600),
    ),
    nonceRequired: or(dp.nonceRequired, d.dpop.nonceRequired, (v) => c.bool(v, `${p}.dpop.nonceRequired`)),
    nonceSlotSeconds: or(dp.nonceSlotSeconds, d.dpop.nonceSlotSeconds, (v) =>
      c.int(v, `${p}.dpop.nonceSlotSeconds`, 10, 3600),
    ),
    algorithms: or(dp.algorithms, d.dpop.algorithms, (v) => algs(v, `${p}.dpop.algorithms`)),
  };
  const externalIssuers = or(o.externalIssuers, d.externalIssuers, (v) =>
    c.array(
      v,
      `${p}.externalIssuers`,
      (e, q): ExternalIssuerConfig => {
        const x =
          c.object(e, q, [
            'issuer',
            'metadataUrl',
            'audience',
            'algorithms',
            'tokenTypes',
            'clientIdClaim',
            'caFile',
            'jwksMinRefreshSeconds',
            'jwksMaxAgeSeconds',
          ]) ?? {};
        const base = defaultExternalIssuer({
          issuer: c.string(x.issuer, `${q}.issuer`),
          metadataUrl: c.string(x.metadataUrl, `${q}.metadataUrl`, /^https:\/\/[^\s#]+$/),
          audience: c.string(x.audience, `${q}.audience`),
        });
        const issuer: ExternalIssuerConfig = {
          ...base,
          algorithms: or(x.algorithms, base.algorithms, (v) => algs(v, `${q}.algorithms`)),
          tokenTypes: or(x.tokenTypes, base.tokenTypes, (v) =>
            c.array(v, `${q}.tokenTypes`, (t, r) => c.string(t, r, /^[A-Za-z0-9.+/-]{1,64}$/), 8),
          ),
          clientIdClaim: or(x.clientIdClaim, base.clientIdClaim, (v) =>
            c.string(v, `${q}.clientIdClaim`, /^[A-Za-z0-9_.-]{1,64}$/),
          ),
          jwksMinRefreshSeconds: or(x.jwksMinRefreshSeconds, base.jwksMinRefreshSeconds, (v) =>
            c.int(v, `${q}.jwksMinRefreshSeconds`, 1, 3600),
          ),
          jwksMaxAgeSeconds: or(x.jwksMaxAgeSeconds, base.jwksMaxAgeSeconds, (v) =>
            c.int(v, `${q}.jwksMaxAgeSeconds`, 30, 86_400),
          ),
        };
        if (x.caFile !== undefined) issuer.caFile = c.string(x.caFile, `${q}.caFile`);
        return issuer;
      },
      16,
    ),
  );
  return {
    clockSkewSeconds: or(o.clockSkewSeconds, d.clockSkewSeconds, (v) =>
      c.int(v, `${p}.clockSkewSeconds`, 0, 300),
    ),
    maxTokenBytes: or(o.maxTokenBytes, d.maxTokenBytes, (v) => c.int(v, `${p}.maxTokenBytes`, 512, 8192)),
    dpop,
    externalIssuers,
  };
}

/** https origin plus an optional path without a trailing slash, query or fragment (RFC 8414 §2 issuer). */
const URL_BASE = /^https:\/\/[A-Za-z0-9.:[\]-]+(\/[A-Za-z0-9._~-]+)*$/;

function authSection(c: Checker, value: unknown): AuthConfig {
  const d = defaultAuthConfig();
  if (value === undefined) return d;
  const p = '$.auth';
  const o = c.object(value, p, Object.keys(d)) ?? {};
  const or = <T>(v: unknown, fallback: T, read: (v: unknown) => T): T =>
    v === undefined ? fallback : read(v);
  const bucket = (v: unknown, q: string, fallback: AuthConfig['rateLimits']['perClient']) =>
    or(v, fallback, (x) => {
      const b = c.object(x, q, ['burst', 'perSecond']) ?? {};
      return {
        burst: c.int(b.burst, `${q}.burst`, 1, 1_000_000),
        perSecond: c.int(b.perSecond, `${q}.perSecond`, 1, 1_000_000),
      };
    });
  const rl =
    o.rateLimits === undefined
      ? {}
      : (c.object(o.rateLimits, `${p}.rateLimits`, ['perClient', 'perAddress']) ?? {});
  const lo =
    o.lockout === undefined ? {} : (c.object(o.lockout, `${p}.lockout`, Object.keys(d.lockout)) ?? {});
  const listener = (v: unknown, q: string) => {
    const l = c.object(v, q, ['host', 'port']) ?? {};
    return {
      host: c.string(l.host, `${q}.host`, /^[0-9A-Za-z.:-]{1,253}$/),
      port: c.int(l.port, `${q}.port`, 0, 65535),
    };
  };
  return {
    issuer: or(o.issuer, d.issuer, (v) => c.string(v, `${p}.issuer`, URL_BASE)),
    audience: or(o.audience, d.audience, (v) => c.string(v, `${p}.audience`, /^[\x21-\x7e]{1,256}$/)),
    publicUrl: or(o.publicUrl, d.publicUrl, (v) => c.string(v, `${p}.publicUrl`, URL_BASE)),
    tokenListener: or(o.tokenListener, d.tokenListener, (v) =>
      v === null ? null : listener(v, `${p}.tokenListener`),
    ),
    rateLimits: {
      perClient: bucket(rl.perClient, `${p}.rateLimits.perClient`, d.rateLimits.perClient),
      perAddress: bucket(rl.perAddress, `${p}.rateLimits.perAddress`, d.rateLimits.perAddress),
    },
    lockout: {
      threshold: or(lo.threshold, d.lockout.threshold, (v) => c.int(v, `${p}.lockout.threshold`, 1, 1000)),
      baseSeconds: or(lo.baseSeconds, d.lockout.baseSeconds, (v) =>
        c.int(v, `${p}.lockout.baseSeconds`, 1, 3600),
      ),
      maxSeconds: or(lo.maxSeconds, d.lockout.maxSeconds, (v) =>
        c.int(v, `${p}.lockout.maxSeconds`, 1, 86_400),
      ),
    },
    clockSkewSeconds: or(o.clockSkewSeconds, d.clockSkewSeconds, (v) =>
      c.int(v, `${p}.clockSkewSeconds`, 0, 300),
    ),
    assertionMaxLifetimeSeconds: or(o.assertionMaxLifetimeSeconds, d.assertionMaxLifetimeSeconds, (v) =>
      c.int(v, `${p}.assertionMaxLifetimeSeconds`, 10, 3600),
    ),
  };
}

function revocationSection(c: Checker, value: unknown): RevocationConfig {
  const d = defaultRevocationConfig();
  if (value === undefined) return d;
  const p = '$.revocation';
  const o = c.object(value, p, Object.keys(d)) ?? {};
  const or = (v: unknown, fallback: number, q: string, min: number, max: number): number =>
    v === undefined ? fallback : c.int(v, `${p}.${q}`, min, max);
  const revocation: RevocationConfig = {
    // "At least every second": a revocation made elsewhere is enforced within seconds on every node.
    refreshIntervalMs: or(o.refreshIntervalMs, d.refreshIntervalMs, 'refreshIntervalMs', 50, 1000),
    crlValiditySeconds: or(o.crlValiditySeconds, d.crlValiditySeconds, 'crlValiditySeconds', 120, 7 * 86_400),
    crlReissueSeconds: or(o.crlReissueSeconds, d.crlReissueSeconds, 'crlReissueSeconds', 60, 7 * 86_400),
    ocspValiditySeconds: or(o.ocspValiditySeconds, d.ocspValiditySeconds, 'ocspValiditySeconds', 10, 86_400),
  };
  if (revocation.crlReissueSeconds >= revocation.crlValiditySeconds) {
    c.problems.push(`${p}.crlReissueSeconds: must be less than crlValiditySeconds`);
  }
  return revocation;
}

const ENV_NAME = /^[A-Z_][A-Z0-9_]{0,127}$/;
const SECRET_PATH = /^[^\0]{1,4096}$/;

function keysSection(c: Checker, value: unknown): KeysConfig {
  const d = defaultKeysConfig();
  if (value === undefined) return d;
  const p = '$.keys';
  const o = c.object(value, p, ['provider', 'file', 'pkcs11']) ?? {};
  const f = o.file === undefined ? {} : (c.object(o.file, `${p}.file`, Object.keys(d.file)) ?? {});
  const k = o.pkcs11 === undefined ? {} : (c.object(o.pkcs11, `${p}.pkcs11`, Object.keys(d.pkcs11)) ?? {});
  const str = (v: unknown, fallback: string, q: string, pattern: RegExp): string =>
    v === undefined ? fallback : c.string(v, q, pattern);
  return {
    provider:
      o.provider === undefined ? d.provider : c.enumOf(o.provider, `${p}.provider`, ['file', 'pkcs11']),
    file: {
      passphraseEnv: str(f.passphraseEnv, d.file.passphraseEnv, `${p}.file.passphraseEnv`, ENV_NAME),
      passphraseFile: str(f.passphraseFile, d.file.passphraseFile, `${p}.file.passphraseFile`, SECRET_PATH),
      scryptLogN:
        f.scryptLogN === undefined ? d.file.scryptLogN : c.int(f.scryptLogN, `${p}.file.scryptLogN`, 15, 20),
    },
    pkcs11: {
      module: str(k.module, d.pkcs11.module, `${p}.pkcs11.module`, /^\/[^\0]{1,4095}$/),
      tokenLabel: str(k.tokenLabel, d.pkcs11.tokenLabel, `${p}.pkcs11.tokenLabel`, /^[\x20-\x7e]{1,32}$/),
      pinEnv: str(k.pinEnv, d.pkcs11.pinEnv, `${p}.pkcs11.pinEnv`, ENV_NAME),
      pinFile:
        k.pinFile === undefined || k.pinFile === null
          ? d.pkcs11.pinFile
          : c.string(k.pinFile, `${p}.pkcs11.pinFile`, SECRET_PATH),
    },
  };
}

function tlsSection(c: Checker, value: unknown): TlsConfig {
  const d = defaultTlsConfig();
  if (value === undefined) return d;
  const p = '$.tls';
  const o = c.object(value, p, Object.keys(d)) ?? {};
  return {
    ticketKeyRotationMinutes:
      o.ticketKeyRotationMinutes === undefined
        ? d.ticketKeyRotationMinutes
        : c.int(o.ticketKeyRotationMinutes, `${p}.ticketKeyRotationMinutes`, 1, 24 * 60),
    reloadCheckIntervalMs:
      o.reloadCheckIntervalMs === undefined
        ? d.reloadCheckIntervalMs
        : c.int(o.reloadCheckIntervalMs, `${p}.reloadCheckIntervalMs`, 50, 60_000),
  };
}

function telemetryIngestSection(c: Checker, value: unknown): TelemetryIngestConfig {
  const d = defaultTelemetryIngestConfig();
  if (value === undefined) return d;
  const p = '$.telemetryIngest';
  const o = c.object(value, p, Object.keys(d)) ?? {};
  const or = <T>(v: unknown, fallback: T, read: (v: unknown) => T): T =>
    v === undefined ? fallback : read(v);
  const bucket = (v: unknown, q: string, fallback: TelemetryIngestConfig['rateLimits']['records']) =>
    or(v, fallback, (x) => {
      const b = c.object(x, q, ['burst', 'perSecond']) ?? {};
      return {
        burst: c.int(b.burst, `${q}.burst`, 1, 1_000_000_000),
        perSecond: c.int(b.perSecond, `${q}.perSecond`, 1, 1_000_000_000),
      };
    });
  const rl =
    o.rateLimits === undefined ? {} : (c.object(o.rateLimits, `${p}.rateLimits`, ['records', 'bytes']) ?? {});
  const gc =
    o.groupCommit === undefined
      ? {}
      : (c.object(o.groupCommit, `${p}.groupCommit`, Object.keys(d.groupCommit)) ?? {});
  const before = c.problems.length;
  const algorithms = or(o.algorithms, d.algorithms, (v) =>
    c.array(v, `${p}.algorithms`, (a, q) => c.enumOf(a, q, TELEMETRY_ALGORITHMS), 4),
  );
  const listed = c.problems.length === before; // an invalid name is reported once, not again as a duplicate
  if (listed && (algorithms.length === 0 || new Set(algorithms).size !== algorithms.length)) {
    c.problems.push(`${p}.algorithms: must name at least one suite, each once`);
  }
  return {
    algorithms,
    clockSkewWarnSeconds: or(o.clockSkewWarnSeconds, d.clockSkewWarnSeconds, (v) =>
      c.int(v, `${p}.clockSkewWarnSeconds`, 1, 86_400),
    ),
    rateLimits: {
      records: bucket(rl.records, `${p}.rateLimits.records`, d.rateLimits.records),
      bytes: bucket(rl.bytes, `${p}.rateLimits.bytes`, d.rateLimits.bytes),
    },
    maxConnectionsPerDevice: or(o.maxConnectionsPerDevice, d.maxConnectionsPerDevice, (v) =>
      c.int(v, `${p}.maxConnectionsPerDevice`, 1, 1000),
    ),
    groupCommit: {
      maxDelayMs: or(gc.maxDelayMs, d.groupCommit.maxDelayMs, (v) =>
        c.int(v, `${p}.groupCommit.maxDelayMs`, 0, 1000),
      ),
      maxBatches: or(gc.maxBatches, d.groupCommit.maxBatches, (v) =>
        c.int(v, `${p}.groupCommit.maxBatches`, 1, 10_000),
      ),
      maxQueuedRecords: or(gc.maxQueuedRecords, d.groupCommit.maxQueuedRecords, (v) =>
        c.int(v, `${p}.groupCommit.maxQueuedRecords`, 1, 100_000_000),
      ),
    },
    deviceKeyCacheMs: or(o.deviceKeyCacheMs, d.deviceKeyCacheMs, (v) =>
      c.int(v, `${p}.deviceKeyCacheMs`, 0, 600_000),
    ),
  };
}

const MQTTS_URL = /^mqtts:\/\/(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]{1,253}):[0-9]{1,5}$/;
const MQTT_NAME = /^[A-Za-z0-9._-]{1,64}$/;

function mqttSection(c: Checker, value: unknown): MqttConfig {
  const d = defaultMqttConfig();
  if (value === undefined) return d;
  const p = '$.mqtt';
  const o = c.object(value, p, Object.keys(d)) ?? {};
  const int = (v: unknown, fallback: number, q: string, min: number, max: number): number =>
    v === undefined ? fallback : c.int(v, `${p}.${q}`, min, max);
  const nullable = (v: unknown, fallback: string | null, q: string, pattern: RegExp): string | null =>
    v === undefined ? fallback : v === null ? null : c.string(v, `${p}.${q}`, pattern);
  const mqtt: MqttConfig = {
    enabled: o.enabled === undefined ? d.enabled : c.bool(o.enabled, `${p}.enabled`),
    // TLS only: a plain mqtt:// (or ws://) URL is refused.
    url: o.url === undefined ? d.url : c.string(o.url, `${p}.url`, MQTTS_URL),
    servername: nullable(o.servername, d.servername, 'servername', /^[A-Za-z0-9.-]{1,253}$/),
    // MQTT client ids and group names stay in a small alphabet: no '/', '+', '#' or '$'.
    clientId: o.clientId === undefined ? d.clientId : c.string(o.clientId, `${p}.clientId`, MQTT_NAME),
    sharedGroup: nullable(o.sharedGroup, d.sharedGroup, 'sharedGroup', MQTT_NAME),
    connections: int(o.connections, d.connections, 'connections', 1, 16),
    reconnectMs: int(o.reconnectMs, d.reconnectMs, 'reconnectMs', 50, 60_000),
    sessionExpirySeconds: int(
      o.sessionExpirySeconds,
      d.sessionExpirySeconds,
      'sessionExpirySeconds',
      0,
      7 * 86_400,
    ),
    keepaliveSeconds: int(o.keepaliveSeconds, d.keepaliveSeconds, 'keepaliveSeconds', 5, 3600),
  };
  if (mqtt.connections > 1 && mqtt.sharedGroup === null) {
    c.problems.push(`${p}.connections: more than 1 needs a sharedGroup (each would receive every message)`);
  }
  return mqtt;
}

const HOUR_MINUTE = /^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$/;

function tenderEngineSection(c: Checker, value: unknown): TenderEngineConfig {
  const d = defaultTenderEngineConfig();
  if (value === undefined) return d;
  const p = '$.tenderEngine';
  const o = c.object(value, p, Object.keys(d)) ?? {};
  const or = <T>(v: unknown, fallback: T, read: (v: unknown) => T): T =>
    v === undefined ? fallback : read(v);
  const hours = or(o.operatingHours, d.operatingHours, (v) => {
    const h = c.object(v, `${p}.operatingHours`, ['start', 'end']) ?? {};
    return {
      start: c.string(h.start, `${p}.operatingHours.start`, HOUR_MINUTE),
      end: c.string(h.end, `${p}.operatingHours.end`, HOUR_MINUTE),
    };
  });
  const distances = or(o.laneDistanceKm, d.laneDistanceKm, (v) => {
    const isMap = typeof v === 'object' && v !== null && !Array.isArray(v);
    if (!isMap) c.problems.push(`${p}.laneDistanceKm: must be an object`);
    const m = isMap ? (v as Record<string, unknown>) : {};
    const out: Record<string, number> = {};
    for (const [lane, km] of Object.entries(m)) {
      if (!ID_PATTERN.test(lane))
        c.problems.push(`${p}.laneDistanceKm: ${JSON.stringify(lane)} is not a lane id`);
      else out[lane] = c.int(km, `${p}.laneDistanceKm.${lane}`, 1, 20_000);
    }
    return out;
  });
  return {
    operatingHours: hours,
    oddEquipment: or(o.oddEquipment, d.oddEquipment, (v) =>
      c.array(v, `${p}.oddEquipment`, (e, q) => c.string(e, q, /^[a-z_]{1,32}$/), 16),
    ),
    fleetSize: or(o.fleetSize, d.fleetSize, (v) =>
      v === null ? null : c.int(v, `${p}.fleetSize`, 0, 1_000_000),
    ),
    averageSpeedKmh: or(o.averageSpeedKmh, d.averageSpeedKmh, (v) =>
      c.int(v, `${p}.averageSpeedKmh`, 1, 200),
    ),
    laneDistanceKm: distances,
    reviewSlackMinutes: or(o.reviewSlackMinutes, d.reviewSlackMinutes, (v) =>
      c.int(v, `${p}.reviewSlackMinutes`, 0, 10_080),
    ),
    planningHorizonDays: or(o.planningHorizonDays, d.planningHorizonDays, (v) =>
      v === null ? null : c.int(v, `${p}.planningHorizonDays`, 1, 3660),
    ),
    idempotencyTtlSeconds: or(o.idempotencyTtlSeconds, d.idempotencyTtlSeconds, (v) =>
      c.int(v, `${p}.idempotencyTtlSeconds`, 60, 30 * 86_400),
    ),
  };
}

// Webhooks (issue 6 §5): allow-listed URL prefixes are https, without userinfo, query or fragment.
function partnerWebhooksSection(c: Checker, value: unknown, p: string): { allowedUrls: string[] } {
  const o = c.object(value, p, ['allowedUrls']) ?? {};
  const allowedUrls = c.array(o.allowedUrls, `${p}.allowedUrls`, (v, q) => c.string(v, q), 100);
  allowedUrls.forEach((u, i) => {
    if (u !== '' && !validWebhookPrefix(u))
      c.problems.push(`${p}.allowedUrls[${i}]: must be an https URL without userinfo, query or fragment`);
  });
  return { allowedUrls };
}

function validWebhookPrefix(text: string): boolean {
  try {
    const url = new URL(text);
    return (
      url.protocol === 'https:' &&
      url.username === '' &&
      url.password === '' &&
      !text.includes('@') &&
      url.search === '' &&
      !text.includes('#')
    );
  } catch {
    return false;
  }
}

function webhooksSection(c: Checker, value: unknown): WebhooksConfig {
  const d = defaultWebhooksConfig();
  if (value === undefined) return d;
  const p = '$.webhooks';
  const o = c.object(value, p, Object.keys(d)) ?? {};
  const int = (v: unknown, fallback: number, q: string, min: number, max: number): number =>
    v === undefined ? fallback : c.int(v, `${p}.${q}`, min, max);
  return {
    pollIntervalMs: int(o.pollIntervalMs, d.pollIntervalMs, 'pollIntervalMs', 10, 60_000),
    maxAttempts: int(o.maxAttempts, d.maxAttempts, 'maxAttempts', 1, 50),
    backoffBaseMs: int(o.backoffBaseMs, d.backoffBaseMs, 'backoffBaseMs', 1, 3_600_000),
    concurrency: int(o.concurrency, d.concurrency, 'concurrency', 1, 256),
    timeoutMs: int(o.timeoutMs, d.timeoutMs, 'timeoutMs', 100, 60_000),
    maxEndpointsPerPartner: int(
      o.maxEndpointsPerPartner,
      d.maxEndpointsPerPartner,
      'maxEndpointsPerPartner',
      1,
      100,
    ),
    secretOverlapSeconds: int(
      o.secretOverlapSeconds,
      d.secretOverlapSeconds,
      'secretOverlapSeconds',
      0,
      7 * 86_400,
    ),
    allowPrivateAddresses:
      o.allowPrivateAddresses === undefined
        ? d.allowPrivateAddresses
        : c.bool(o.allowPrivateAddresses, `${p}.allowPrivateAddresses`),
    trustedCaFile:
      o.trustedCaFile === undefined || o.trustedCaFile === null
        ? null
        : c.string(o.trustedCaFile, `${p}.trustedCaFile`),
    nat64Prefixes: nat64PrefixesOf(c, o.nat64Prefixes, `${p}.nat64Prefixes`),
  };
}

// NAT64 prefixes (webhooks/address-policy.ts): /96 only, the last 32 bits zero, never ::/96 or ::ffff:0:0/96.
function nat64PrefixesOf(c: Checker, value: unknown, p: string): string[] {
  if (value === undefined) return [];
  const prefixes = c.array(value, p, (v, q) => c.string(v, q), 16);
  prefixes.forEach((text, i) => {
    if (parseNat64Prefix(text) === null)
      c.problems.push(`${p}[${i}]: must be an IPv6 /96 prefix such as 64:ff9b::/96 (the last 32 bits zero)`);
  });
  return prefixes;
}

/** Retention limits (issue 7 §9): every period is whole years in [2, 7]; anything else is refused. */
const RETENTION_YEARS = { min: 2, max: 7 } as const;
const RETENTION_KEY = /^[a-z][a-z0-9_-]*(\.[a-z0-9_-]+)*$/;

function retentionSection(c: Checker, value: unknown): AuditRetentionConfig {
  const d = { defaultYears: 7, classes: {} as Record<string, number> };
  if (value === undefined) return d;
  const p = '$.audit.retention';
  const o = c.object(value, p, ['defaultYears', 'classes']) ?? {};
  const years = (v: unknown, q: string): number => c.int(v, q, RETENTION_YEARS.min, RETENTION_YEARS.max);
  const classes: Record<string, number> = {};
  if (o.classes !== undefined) {
    // An open map (class or prefix → years), so not c.object, which refuses unknown keys.
    const k = o.classes;
    if (typeof k !== 'object' || k === null || Array.isArray(k) || Object.keys(k).length > 200) {
      c.problems.push(`${p}.classes: must be an object of at most 200 keys`);
    } else {
      for (const [key, v] of Object.entries(k as Obj)) {
        if (key.length > 100 || !RETENTION_KEY.test(key)) {
          c.problems.push(`${p}.classes.${key}: must be an audit class or a dot-separated prefix of one`);
        } else if ('audit.entry.redacted'.startsWith(key) && /^audit(\.entry(\.redacted)?)?$/.test(key)) {
          // The verifier needs the record of every redaction for the life of the log.
          c.problems.push(`${p}.classes.${key}: redaction records are never redacted`);
        } else {
          classes[key] = years(v, `${p}.classes.${key}`);
        }
      }
    }
  }
  return {
    defaultYears: o.defaultYears === undefined ? d.defaultYears : years(o.defaultYears, `${p}.defaultYears`),
    classes,
  };
}

const SINK_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const SINK_HOST = /^[0-9A-Za-z.:-]{1,253}$/;
const SINK_ENV_NAME = /^[A-Z_][A-Z0-9_]{0,127}$/;

type IntOr = (v: unknown, fallback: number, q: string, min: number, max: number) => number;

function auditExportSection(c: Checker, value: unknown): AuditExportConfig {
  const d = defaultAuditExportConfig();
  if (value === undefined) return d;
  const p = '$.auditExport';
  const o = c.object(value, p, Object.keys(d)) ?? {};
  const int: IntOr = (v, fallback, q, min, max) => (v === undefined ? fallback : c.int(v, q, min, max));
  const sinks =
    o.sinks === undefined ? d.sinks : c.array(o.sinks, `${p}.sinks`, (v, q) => exportSink(c, v, q, int), 16);
  if (new Set(sinks.map((s) => s.name)).size !== sinks.length) {
    c.problems.push(`${p}.sinks: names must be unique`);
  }
  const out: AuditExportConfig = {
    sinks,
    pollIntervalMs: int(o.pollIntervalMs, d.pollIntervalMs, `${p}.pollIntervalMs`, 50, 60_000),
    retryMinMs: int(o.retryMinMs, d.retryMinMs, `${p}.retryMinMs`, 10, 60_000),
    retryMaxMs: int(o.retryMaxMs, d.retryMaxMs, `${p}.retryMaxMs`, 10, 3_600_000),
  };
  if (out.retryMaxMs < out.retryMinMs) c.problems.push(`${p}.retryMaxMs: must not be below retryMinMs`);
  return out;
}

function exportSink(c: Checker, v: unknown, q: string, int: IntOr): AuditExportSinkConfig {
  const kind = c.enumOf((v as Obj | null)?.kind, `${q}.kind`, ['jsonl', 'syslog-tls', 'https'] as const);
  const keys = {
    jsonl: ['directory', 'maxFileBytes'],
    'syslog-tls': ['host', 'port', 'caFile', 'certFile', 'keyFile', 'servername'],
    https: ['url', 'format', 'bearerTokenEnv', 'caFile', 'timeoutMs'],
  }[kind];
  const o = c.object(v, q, ['kind', 'name', 'batchSize', ...keys]) ?? {};
  const name = c.string(o.name, `${q}.name`, SINK_NAME);
  const batchSize = int(o.batchSize, 500, `${q}.batchSize`, 1, 5_000);
  const optional = (x: unknown, k: string, pattern?: RegExp): string | undefined =>
    x === undefined ? undefined : c.string(x, `${q}.${k}`, pattern);
  if (kind === 'jsonl') {
    return {
      kind,
      name,
      batchSize,
      directory: c.string(o.directory, `${q}.directory`),
      maxFileBytes: int(o.maxFileBytes, 64 * 1024 * 1024, `${q}.maxFileBytes`, 4096, 2 ** 40),
    };
  }
  if (kind === 'syslog-tls') {
    const certFile = optional(o.certFile, 'certFile');
    const keyFile = optional(o.keyFile, 'keyFile');
    if ((certFile === undefined) !== (keyFile === undefined)) {
      c.problems.push(`${q}: certFile and keyFile go together`);
    }
    const servername = optional(o.servername, 'servername', /^[A-Za-z0-9.-]{1,253}$/);
    return {
      kind,
      name,
      batchSize,
      host: c.string(o.host, `${q}.host`, SINK_HOST),
      port: c.int(o.port, `${q}.port`, 1, 65_535),
      caFile: c.string(o.caFile, `${q}.caFile`),
      ...(certFile === undefined ? {} : { certFile }),
      ...(keyFile === undefined ? {} : { keyFile }),
      ...(servername === undefined ? {} : { servername }),
    };
  }
  const url = c.string(o.url, `${q}.url`, /^https:\/\/\S+$/);
  if (url !== '' && !URL.canParse(url)) c.problems.push(`${q}.url: must be an https:// URL`);
  else if (url !== '' && (new URL(url).username !== '' || new URL(url).password !== '')) {
    c.problems.push(`${q}.url: must not hold credentials (use bearerTokenEnv)`);
  }
  const bearerTokenEnv = optional(o.bearerTokenEnv, 'bearerTokenEnv', SINK_ENV_NAME);
  const caFile = optional(o.caFile, 'caFile');
  return {
    kind,
    name,
    batchSize,
    url,
    format:
      o.format === undefined
        ? 'ndjson'
        : c.enumOf(o.format, `${q}.format`, ['json-array', 'ndjson'] as const),
    timeoutMs: int(o.timeoutMs, 10_000, `${q}.timeoutMs`, 100, 300_000),
    ...(bearerTokenEnv === undefined ? {} : { bearerTokenEnv }),
    ...(caFile === undefined ? {} : { caFile }),
  };
}
