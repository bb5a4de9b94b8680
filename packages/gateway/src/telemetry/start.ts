/**
 * Builds the telemetry ingest pipeline one gateway node runs (docs/telemetry.md): the device keyring
 * (device keys, signature policies, the key-wrapping key for HMAC secrets), the per-device token buckets
 * and connection cap, the clock-skew flag, and the group-commit queue with its writer — COPY on its own
 * PostgreSQL connections when the store is PostgreSQL, the store's own transactions on PGlite.
 *
 * Every transport hands envelopes to the same pipeline through ingestEnvelope (ingest.ts): the HTTPS
 * route and the MQTT subscriber share one queue, so their batches share group commits and one replay
 * window. close() drains the queue and records pending refusal counts; call it after the listeners
 * stopped and before the store closes.
 */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { AuditLog } from '../audit/log.ts';
import type { TelemetryIngestConfig } from '../config/config.ts';
import type { Store } from '../store/store.ts';
import { ClockSkewFlags } from './clock-flags.ts';
import { DeviceConnectionCap } from './connection-cap.ts';
import { type KeyWrappingKey, loadOrCreateKek } from './device-keys/kek.ts';
import { DeviceKeyring } from './device-keys/keyring.ts';
import { IngestQueue } from './group-commit.ts';
import { type IngestConnection, postgresCopyConnection, storeConnection } from './internal/connection.ts';
import { createTelemetryMetrics, type TelemetryMetrics } from './metrics.ts';
import { DeviceRateLimiter } from './rate-limit.ts';
import { RateLimitRefusals } from './rate-limit-refusals.ts';

export interface TelemetryIngest {
  readonly config: TelemetryIngestConfig;
  readonly queue: IngestQueue;
  readonly keyring: DeviceKeyring;
  readonly limiter: DeviceRateLimiter;
  readonly refusals: RateLimitRefusals;
  readonly clock: ClockSkewFlags;
  readonly connections: DeviceConnectionCap;
  readonly metrics: TelemetryMetrics;
  /** The key-wrapping key HMAC secrets are stored under (undefined without a data directory). */
  readonly kek: KeyWrappingKey | undefined;
  /** Drains the queue and records pending refusal counts; the store stays open. */
  close(): Promise<void>;
}

export interface StartTelemetryIngestOptions {
  store: Store;
  audit: AuditLog;
  now: () => Date;
  config: TelemetryIngestConfig;
  /** telemetry.replayWindow. */
  replayWindow: number;
  /** The store's PostgreSQL URL and schema: group commit then writes on its own connections, by COPY. */
  postgres?: { url: string; schema?: string };
  /** The data directory: its key-wrapping key (created when absent) unwraps HMAC device keys. */
  dataDir?: string;
  /** The gateway's metrics registry; absent: metrics are kept but not exposed. */
  registry?: Registry;
  logger?: Logger;
}

export function startTelemetryIngest(options: StartTelemetryIngestOptions): TelemetryIngest {
  const { store, audit, now, config, logger } = options;
  const kek = options.dataDir === undefined ? undefined : loadOrCreateKek(options.dataDir);
  const connection: IngestConnection =
    options.postgres === undefined
      ? storeConnection(store)
      : postgresCopyConnection(options.postgres.url, options.postgres.schema);
  let queue: IngestQueue | undefined;
  const metrics = createTelemetryMetrics(options.registry, store, () => queue?.depth ?? 0);
  queue = new IngestQueue(
    connection,
    audit,
    { ...config.groupCommit, replayWindow: options.replayWindow },
    { metrics, ...(logger ? { logger } : {}) },
  );
  const refusals = new RateLimitRefusals(queue, now, metrics);
  const ingestQueue = queue;
  return {
    config,
    queue,
    keyring: new DeviceKeyring({
      db: store,
      cacheMs: config.deviceKeyCacheMs,
      ...(kek ? { kek } : {}),
      ...(logger ? { logger } : {}),
    }),
    limiter: new DeviceRateLimiter(config.rateLimits, now),
    refusals,
    clock: new ClockSkewFlags({
      store,
      audit,
      now,
      warnSeconds: config.clockSkewWarnSeconds,
      metrics,
      ...(logger ? { logger } : {}),
    }),
    connections: new DeviceConnectionCap(config.maxConnectionsPerDevice),
    metrics,
    kek,
    close: async () => {
      await refusals.close();
      await ingestQueue.close();
      await connection.close();
    },
  };
}
