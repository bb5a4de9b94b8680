/**
 * The SIEM export service (issue 7 §8; docs/audit.md "SIEM export"): one ExportRunner per configured
 * sink, started with the gateway and stopped before the store closes. Sinks are built lazily on their
 * first delivery, so a sink whose CA file is missing or whose collector is down never stops the gateway
 * from starting: it logs, backs off and tries again, alone.
 *
 * Metrics (ops listener): fleetgate_audit_export_entries_total{sink} events acknowledged;
 * fleetgate_audit_export_lag_entries{sink} committed entries not yet acknowledged;
 * fleetgate_audit_export_failures_total{sink} failed deliveries.
 */
import { isAbsolute, join } from 'node:path';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { AuditExportConfig, AuditExportSinkConfig } from '../../config/config.ts';
import type { Store } from '../../store/store.ts';
import { httpsSinkFromFiles } from './https-sink.ts';
import { JsonlSink } from './jsonl-sink.ts';
import { ExportRunner } from './runner.ts';
import { ExportDeliveryError, type ExportRecord, type ExportSink } from './sink.ts';
import { syslogTlsSinkFromFiles } from './syslog-tls-sink.ts';

export interface AuditExportDeps {
  store: Store;
  origin: string;
  dataDir: string;
  now: () => Date;
  logger?: Pick<Logger, 'warn' | 'error' | 'info'>;
  registry?: Registry;
  env?: NodeJS.ProcessEnv;
}

export interface AuditExport {
  readonly runners: ReadonlyMap<string, ExportRunner>;
  stop(): Promise<void>;
}

export function startAuditExport(deps: AuditExportDeps, config: AuditExportConfig): AuditExport {
  const runners = new Map<string, ExportRunner>();
  if (config.sinks.length === 0) return { runners, stop: async () => undefined };
  const registers = deps.registry === undefined ? [] : [deps.registry];
  const exported = new Counter({
    name: 'fleetgate_audit_export_entries_total',
    help: 'Audit entries exported as OCSF events and acknowledged, by sink',
    labelNames: ['sink'] as const,
    registers,
  });
  const failures = new Counter({
    name: 'fleetgate_audit_export_failures_total',
    help: 'Failed SIEM export deliveries (retried with backoff), by sink',
    labelNames: ['sink'] as const,
    registers,
  });
  const lag = new Gauge({
    name: 'fleetgate_audit_export_lag_entries',
    help: 'Committed audit entries a SIEM sink has not acknowledged yet',
    labelNames: ['sink'] as const,
    registers,
  });
  for (const sinkConfig of config.sinks) {
    const sink = new LazySink(sinkConfig.name, () => buildSink(sinkConfig, deps));
    const runner = new ExportRunner({
      store: deps.store,
      sink,
      origin: deps.origin,
      batchSize: sinkConfig.batchSize,
      pollIntervalMs: config.pollIntervalMs,
      retryMinMs: config.retryMinMs,
      retryMaxMs: config.retryMaxMs,
      now: deps.now,
      ...(deps.logger === undefined ? {} : { logger: deps.logger }),
      onExported: (n) => exported.inc({ sink: sinkConfig.name }, n),
      onLag: (n) => lag.set({ sink: sinkConfig.name }, n),
      onFailure: () => failures.inc({ sink: sinkConfig.name }),
    });
    runners.set(sinkConfig.name, runner);
    runner.start();
  }
  return {
    runners,
    stop: async () => {
      await Promise.allSettled([...runners.values()].map((r) => r.stop()));
    },
  };
}

/** Builds one sink from its config; relative paths are under the data directory. */
export function buildSink(
  config: AuditExportSinkConfig,
  deps: Pick<AuditExportDeps, 'dataDir' | 'now' | 'env'>,
): ExportSink {
  const path = (p: string) => (isAbsolute(p) ? p : join(deps.dataDir, p));
  switch (config.kind) {
    case 'jsonl':
      return new JsonlSink({
        name: config.name,
        directory: path(config.directory),
        maxFileBytes: config.maxFileBytes,
        now: deps.now,
      });
    case 'syslog-tls':
      return syslogTlsSinkFromFiles({
        name: config.name,
        host: config.host,
        port: config.port,
        caFile: path(config.caFile),
        ...(config.certFile === undefined ? {} : { certFile: path(config.certFile) }),
        ...(config.keyFile === undefined ? {} : { keyFile: path(config.keyFile) }),
        ...(config.servername === undefined ? {} : { servername: config.servername }),
      });
    case 'https':
      return httpsSinkFromFiles({
        name: config.name,
        url: config.url,
        format: config.format,
        timeoutMs: config.timeoutMs,
        ...(config.caFile === undefined ? {} : { caFile: path(config.caFile) }),
        ...(config.bearerTokenEnv === undefined ? {} : { bearerTokenEnv: config.bearerTokenEnv }),
        ...(deps.env === undefined ? {} : { env: deps.env }),
      });
  }
}

/** Builds the real sink on first delivery; a build failure is a delivery failure (retried). */
class LazySink implements ExportSink {
  readonly name: string;
  readonly #build: () => ExportSink;
  #sink: ExportSink | undefined;

  constructor(name: string, build: () => ExportSink) {
    this.name = name;
    this.#build = build;
  }

  async deliver(batch: readonly ExportRecord[], signal: AbortSignal): Promise<void> {
    if (this.#sink === undefined) {
      try {
        this.#sink = this.#build();
      } catch (error) {
        throw new ExportDeliveryError(`sink ${this.name}: cannot be set up`, { cause: error });
      }
    }
    await this.#sink.deliver(batch, signal);
  }

  async close(): Promise<void> {
    await this.#sink?.close();
  }
}
