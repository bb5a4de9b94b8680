/**
 * Strict validation of the configuration document. Hand-written (no schema library): the document is
 * small, and every failure names its JSON path so an operator can fix it in one read.
 */
import {
  type GatewayConfig,
  ID_PATTERN,
  type LaneConfig,
  type ListenerConfig,
  type PartnerConfig,
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
      'log',
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
    ]) ?? {};
  const telemetry = {
    maxEnvelopeBytes: c.int(t.maxEnvelopeBytes, '$.telemetry.maxEnvelopeBytes', 1024, 16 * 1024 * 1024),
    maxRecordsPerBatch: c.int(t.maxRecordsPerBatch, '$.telemetry.maxRecordsPerBatch', 1, 100_000),
    replayWindow: c.int(t.replayWindow, '$.telemetry.replayWindow', 8, 65_536),
    maxClockSkewSeconds: c.int(t.maxClockSkewSeconds, '$.telemetry.maxClockSkewSeconds', 1, 86_400),
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
    const o = c.object(v, p, ['id', 'tenant']) ?? {};
    return {
      id: c.string(o.id, `${p}.id`, ID_PATTERN),
      tenant: c.string(o.tenant, `${p}.tenant`, ID_PATTERN),
    };
  });

  const a = c.object(root.audit, '$.audit', ['origin', 'checkpointIntervalMs']) ?? {};
  const audit = {
    origin: c.string(a.origin, '$.audit.origin', /^[A-Za-z0-9.-]+(\/[A-Za-z0-9._-]+)*$/),
    checkpointIntervalMs: c.int(a.checkpointIntervalMs, '$.audit.checkpointIntervalMs', 50, 60_000),
  };

  const lg = c.object(root.log, '$.log', ['level']) ?? {};
  const log = { level: c.enumOf(lg.level, '$.log.level', LOG_LEVELS) };

  for (const [name, list] of [
    ['$.lanes', lanes.map((x) => x.id)],
    ['$.fleet.vehicles', fleet.vehicles],
    ['$.partners', partners.map((x) => x.id)],
  ] as const) {
    if (new Set(list).size !== list.length) c.problems.push(`${name}: ids must be unique`);
  }
  if (c.problems.length > 0) throw new ConfigError(c.problems);
  return { listeners, store, telemetry, tendering, lanes, fleet, partners, audit, log };
}
