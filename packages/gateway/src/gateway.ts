/**
 * Assembles and runs the gateway: store, audit log and checkpoint publisher, and the four listeners
 * (ARCHITECTURE.md "Listeners"): control plane and telemetry (TLS 1.3, client certificate required),
 * public read-only (TLS 1.3, no client certificate), ops (plain HTTP, loopback by default).
 *
 * close() drains: listeners stop accepting, in-flight requests finish, a final checkpoint seals every
 * committed audit entry, then the store closes. Nothing accepted is lost.
 */
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import Fastify from 'fastify';
import pino, { type Logger } from 'pino';
import { ensureAuditKeys } from './audit/keys.ts';
import { AuditLog } from './audit/log.ts';
import type { GatewayConfig, ListenerConfig } from './config/config.ts';
import { GatewayEvents } from './events.ts';
import { answerClientError } from './http/client-error.ts';
import { type AnyFastify, installCommon } from './http/common.ts';
import { type TlsMaterial, tlsServerOptions } from './http/tls-policy.ts';
import { createMetrics } from './observability/metrics.ts';
import { syncInventoryFromDataDir } from './pki/inventory-sync.ts';
import { registerControlPlaneRoutes } from './routes/control-plane.ts';
import { registerOpsRoutes } from './routes/ops.ts';
import { registerPublicRoutes } from './routes/public.ts';
import { registerTelemetryRoutes } from './routes/telemetry.ts';
import { openStore } from './store/open.ts';
import type { Store } from './store/store.ts';

export interface GatewayOptions {
  dataDir: string;
  config: GatewayConfig;
  /** Defaults to pino JSON on stdout at config.log.level. */
  logger?: Logger;
  now?: () => Date;
  /** For tests on PostgreSQL: an isolated schema. */
  postgresSchema?: string;
}

export type ListenerName = 'controlPlane' | 'telemetry' | 'public' | 'ops';

export interface Gateway {
  readonly config: GatewayConfig;
  readonly store: Store;
  readonly audit: AuditLog;
  readonly events: GatewayEvents;
  readonly logger: Logger;
  /** Bound addresses, e.g. for port 0 in tests. */
  readonly addresses: Record<ListenerName, { host: string; port: number }>;
  close(): Promise<void>;
}

// Slowloris: a connection that sends nothing for 30 s, or a request that has not fully arrived after
// 30 s, is closed; headers are capped at 16 KiB per listener below.
const SERVER_TIMEOUTS = {
  connectionTimeout: 30_000,
  requestTimeout: 30_000,
  keepAliveTimeout: 65_000,
} as const;

export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const { config, dataDir } = options;
  const now = options.now ?? (() => new Date());
  const logger =
    options.logger ??
    pino({
      level: config.log.level,
      redact: {
        paths: ['req.headers.authorization', 'req.headers.dpop', 'req.headers.cookie'],
        remove: true,
      },
    });
  const events = new GatewayEvents();
  const metrics = createMetrics(events);
  const store = await openStore(
    config.store.engine === 'pglite'
      ? { engine: 'pglite', dataDir: join(dataDir, 'store') }
      : {
          engine: 'postgres',
          url: config.store.url,
          ...(options.postgresSchema ? { schema: options.postgresSchema } : {}),
        },
  );
  await store.transaction((tx) => syncInventoryFromDataDir(tx, dataDir));
  const keys = ensureAuditKeys(dataDir, config.audit.origin);
  const audit = new AuditLog(store, { origin: config.audit.origin, privateKey: keys.privateKey }, now);
  await audit.publish();

  const pki = join(dataDir, 'pki');
  const material: TlsMaterial = {
    key: readFileSync(join(pki, 'server', 'key.pem'), 'utf8'),
    cert: readFileSync(join(pki, 'server', 'chain.pem'), 'utf8'),
    ca: readFileSync(join(pki, 'ca.pem'), 'utf8'),
  };

  const apps: Partial<Record<ListenerName, AnyFastify>> = {};
  let ready = false;
  const common = (name: ListenerName) => ({
    loggerInstance: logger.child({ listener: name }),
    ...SERVER_TIMEOUTS,
    clientErrorHandler: answerClientError,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false } },
    return503OnClosing: true,
  });
  // Header floods: at most 16 KiB of headers on every listener.
  const maxHeaderSize = 16 * 1024;
  const control = Fastify({
    ...common('controlPlane'),
    https: { ...tlsServerOptions(material, true), maxHeaderSize },
  }) as unknown as AnyFastify;
  const telemetry = Fastify({
    ...common('telemetry'),
    http2: true,
    http2SessionTimeout: 72_000,
    https: {
      ...tlsServerOptions(material, true),
      allowHTTP1: true,
      settings: { maxHeaderListSize: maxHeaderSize },
    },
  }) as unknown as AnyFastify;
  const publicApp = Fastify({
    ...common('public'),
    https: { ...tlsServerOptions(material, false), maxHeaderSize },
  }) as unknown as AnyFastify;
  const ops = Fastify({ ...common('ops'), http: { maxHeaderSize } }) as unknown as AnyFastify;
  Object.assign(apps, { controlPlane: control, telemetry, public: publicApp, ops });

  for (const [name, app] of Object.entries(apps) as [ListenerName, AnyFastify][]) {
    installCommon(app, name, metrics);
    if (name !== 'ops') {
      app.server.on('tlsClientError', (error: Error & { code?: string }) => {
        events.emit('tls.refused', { listener: name, reason: error.code ?? 'TLS_ERROR' });
      });
    }
  }
  registerControlPlaneRoutes(control, { store, audit, config, now }, config.partners, events);
  registerTelemetryRoutes(telemetry, { store, audit, limits: config.telemetry, now }, events);
  registerPublicRoutes(publicApp, { caBundle: material.ca, audit, auditVkey: keys.vkey });
  registerOpsRoutes(ops, { store, metrics, ready: () => ready });

  const publishTimer = setInterval(() => {
    audit
      .publish()
      .then((cp) => {
        if (cp !== undefined) events.emit('audit.checkpoint', { size: cp.size });
      })
      .catch((error: unknown) => logger.error({ err: error }, 'checkpoint publication failed'));
  }, config.audit.checkpointIntervalMs);
  publishTimer.unref();

  const addresses = {} as Record<ListenerName, { host: string; port: number }>;
  try {
    for (const [name, app] of Object.entries(apps) as [ListenerName, AnyFastify][]) {
      const l: ListenerConfig = config.listeners[name];
      await app.listen({ host: l.host, port: l.port });
      const bound = app.server.address() as AddressInfo;
      addresses[name] = { host: l.host, port: bound.port };
    }
  } catch (error) {
    clearInterval(publishTimer);
    await Promise.allSettled(Object.values(apps).map((a) => a.close()));
    await store.close();
    throw error;
  }
  ready = true;
  logger.info({ addresses }, 'gateway listening');

  let closing: Promise<void> | undefined;
  return {
    config,
    store,
    audit,
    events,
    logger,
    addresses,
    close: () => {
      closing ??= (async () => {
        ready = false;
        clearInterval(publishTimer);
        await Promise.allSettled(Object.values(apps).map((a) => a.close()));
        const cp = await audit.publish();
        if (cp !== undefined) events.emit('audit.checkpoint', { size: cp.size });
        await store.close();
        logger.info('gateway stopped');
      })();
      return closing;
    },
  };
}
