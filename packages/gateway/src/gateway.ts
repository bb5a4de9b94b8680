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
import { isAbsolute, join } from 'node:path';
import type { Server as TlsServer } from 'node:tls';
import Fastify from 'fastify';
import pino, { type Logger } from 'pino';
import { startAuditExport } from './audit/export/service.ts';
import { ensureAuditKeys } from './audit/keys.ts';
import { AuditLog } from './audit/log.ts';
import { startRetentionJob } from './audit/retention/job.ts';
import { startWitnessClient } from './audit/witness/client.ts';
import { resourceServerFromConfig } from './auth/resource/from-config.ts';
import { DpopNonces, ensureDpopNonceKey } from './auth/server/dpop-nonce.ts';
import { startAuthorizationServer } from './auth/server/from-config.ts';
import type { GatewayConfig, ListenerConfig } from './config/config.ts';
import { type EdiService, startEdiService } from './edi-channel/service.ts';
import { ediSettingsOf } from './edi-channel/settings.ts';
import { GatewayEvents } from './events.ts';
import { answerClientError } from './http/client-error.ts';
import { type AnyFastify, installCommon } from './http/common.ts';
import { type TlsMaterial, tlsServerOptions } from './http/tls-policy.ts';
import { createMetrics } from './observability/metrics.ts';
import { loadManufacturerAnchors } from './pki/enrollment/manufacturer.ts';
import { syncInventoryFromDataDir } from './pki/inventory-sync.ts';
import { ConnectionPathCheck } from './pki/path/connection-check.ts';
import { startRevocationService } from './pki/revocation/service.ts';
import { LiveTls } from './pki/rollover/live-tls.ts';
import { startRotationJob } from './pki/rotation/job.ts';
import { registerRotationMetrics } from './pki/rotation/metrics.ts';
import { registerAuditRoutes } from './routes/audit.ts';
import { registerControlPlaneRoutes } from './routes/control-plane.ts';
import { registerEstRoutes } from './routes/est.ts';
import { registerOAuthMetadataRoutes, registerOAuthRoutes } from './routes/oauth.ts';
import { registerOpsRoutes } from './routes/ops.ts';
import { registerPublicRoutes } from './routes/public.ts';
import { registerRevocationRoutes } from './routes/revocation.ts';
import { registerTelemetryRoutes } from './routes/telemetry.ts';
import { registerWebhookRoutes } from './routes/webhooks.ts';
import { openStore } from './store/open.ts';
import type { Store } from './store/store.ts';
import type { IngestDeps } from './telemetry/ingest.ts';
import { ensureMqttClientIdentity } from './telemetry/mqtt/client-identity.ts';
import { type MqttSubscriber, startMqttSubscriber } from './telemetry/mqtt/subscriber.ts';
import { startTelemetryIngest, type TelemetryIngest } from './telemetry/start.ts';
import { startWebhooks } from './webhooks/start.ts';

export interface GatewayOptions {
  dataDir: string;
  config: GatewayConfig;
  /** Defaults to pino JSON on stdout at config.log.level. */
  logger?: Logger;
  now?: () => Date;
  /** For tests on PostgreSQL: an isolated schema. */
  postgresSchema?: string;
}

/** oauthToken: the optional token listener (auth.tokenListener; issue 4), absent unless configured. */
export type ListenerName = 'controlPlane' | 'telemetry' | 'public' | 'ops' | 'oauthToken';

export interface Gateway {
  readonly config: GatewayConfig;
  readonly store: Store;
  readonly audit: AuditLog;
  readonly events: GatewayEvents;
  readonly logger: Logger;
  /** The TLS listeners' live material: trust bundle reload (CA rollover) and ticket-key rotation. */
  readonly tls: LiveTls;
  /** The telemetry ingest pipeline both transports share (docs/telemetry.md). */
  readonly telemetryIngest: TelemetryIngest;
  /** The MQTT telemetry subscriber, when `mqtt.enabled` (docs/mqtt.md). */
  readonly mqtt?: MqttSubscriber;
  /** The EDI channel's outbound consumer and drop directory (docs/tendering.md "EDI X12"). */
  readonly edi: EdiService;
  /** Bound addresses, e.g. for port 0 in tests. */
  readonly addresses: Record<Exclude<ListenerName, 'oauthToken'>, { host: string; port: number }> & {
    oauthToken?: { host: string; port: number };
  };
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
  // Checkpoints signed with both keys (Ed25519 + ML-DSA-65); sequencer back-pressure from config.audit.
  const audit = new AuditLog(
    store,
    { origin: config.audit.origin, privateKey: keys.privateKey, mlDsaPrivateKey: keys.mlDsaPrivateKey },
    now,
    {
      maxPendingAppends: config.audit.maxPendingAppends,
      maxWaitingTransactions: config.audit.maxWaitingTransactions,
      lockTimeoutMs: config.audit.lockTimeoutMs,
      retryAfterSeconds: config.audit.retryAfterSeconds,
    },
  );
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
    // A client certificate is requested but not required: EST simplereenroll reads a verified one
    // (http/peer.ts), simpleenroll an unverified one as a manufacturer certificate (routes/est.ts);
    // no other public route looks at it.
    https: {
      ...tlsServerOptions(material, false),
      requestCert: true,
      rejectUnauthorized: false,
      maxHeaderSize,
    },
  }) as unknown as AnyFastify;
  const ops = Fastify({ ...common('ops'), http: { maxHeaderSize } }) as unknown as AnyFastify;
  Object.assign(apps, { controlPlane: control, telemetry, public: publicApp, ops });
  // The token listener (auth.tokenListener, off by default): /oauth/* only; it requests a client
  // certificate but lets one that is not from the fleetgate CA through the handshake, for
  // self_signed_tls_client_auth (pinned by thumbprint). docs/auth.md "Token listener".
  if (config.auth.tokenListener !== null) {
    apps.oauthToken = Fastify({
      ...common('oauthToken'),
      https: { ...tlsServerOptions(material, true), rejectUnauthorized: false, maxHeaderSize },
    }) as unknown as AnyFastify;
  }

  for (const [name, app] of Object.entries(apps) as [ListenerName, AnyFastify][]) {
    installCommon(app, name, metrics);
    if (name !== 'ops') {
      app.server.on('tlsClientError', (error: Error & { code?: string }) => {
        events.emit('tls.refused', { listener: name, reason: error.code ?? 'TLS_ERROR' });
      });
    }
  }
  // Live TLS: ca.pem and the server certificate are reloaded on every TLS listener without a restart
  // (CA rollover), session-ticket keys rotate. docs/pki.md "CA rollover", "TLS policy".
  const liveTls = new LiveTls(material, {
    dataDir,
    listeners: (Object.entries(apps) as [ListenerName, AnyFastify][])
      .filter(([name]) => name !== 'ops')
      .map(([name, app]) => ({ name, server: app.server as unknown as TlsServer })),
    ticketRotationMs: config.tls.ticketKeyRotationMinutes * 60_000,
    checkIntervalMs: config.tls.reloadCheckIntervalMs,
    onReload: (reload) => {
      logger.info(
        { anchors: reload.anchors, serverCertSha256: reload.serverCertSha256 },
        'TLS material reloaded',
      );
      audit
        .append({
          class: 'pki.trust-bundle.reloaded',
          actor: { kind: 'system', id: 'gateway' },
          subject: { kind: 'trust-bundle', id: reload.anchors.join(',') },
          outcome: 'recorded',
          details: {
            anchorsAdded: reload.anchorsAdded,
            anchorsRemoved: reload.anchorsRemoved,
            serverCertSha256: reload.serverCertSha256,
            listeners: reload.listeners,
          },
        })
        .catch((error: unknown) => logger.error({ err: error }, 'audit of a TLS reload failed'));
    },
    onError: (error) => logger.warn({ err: error }, 'TLS material not reloaded'),
  });
  liveTls.start();
  // Partner authorization (issue 4): one DPoP nonce source for the token endpoint and the resource server
  // (same origin, so a client's nonce is good for both); every control-plane route behind authorize().
  const dpopNonces = new DpopNonces(
    ensureDpopNonceKey(dataDir),
    config.resourceServer.dpop.nonceSlotSeconds,
    now,
  );
  // Before the resource server: it reads the token signing key this creates on first start.
  const authorizationServer = await startAuthorizationServer({
    dataDir,
    config,
    store,
    audit,
    now,
    nonces: dpopNonces,
    logger,
  });
  const resourceServer = resourceServerFromConfig({
    dataDir,
    config,
    store,
    audit,
    now,
    nonces: dpopNonces,
    logger,
  });
  registerControlPlaneRoutes(control, { store, audit, config, now }, resourceServer, events);
  // EDI X12 (issue 6 §6): 990/214 from the lifecycle feed, the drop directory, the outbox export.
  const dropDirectory = config.edi.dropDirectory;
  const edi = startEdiService({
    store,
    audit,
    config,
    now,
    settings: ediSettingsOf(config),
    fleetVehicles: config.fleet.vehicles,
    events,
    logger,
    pollIntervalMs: config.edi.pollIntervalMs,
    dropDirectory:
      dropDirectory === undefined || isAbsolute(dropDirectory) ? dropDirectory : join(dataDir, dropDirectory),
  });
  // Webhooks to partners (issue 6 §5; docs/tendering.md "Webhooks"): endpoint and delivery routes on the
  // control plane, and this node's dispatcher (stopped after the listeners, before the store closes).
  const webhooks = startWebhooks({
    dataDir,
    store,
    audit,
    now,
    logger,
    config,
    events,
    registry: metrics.registry,
  });
  registerWebhookRoutes(control, webhooks.deps, resourceServer, webhooks.wake);
  // The authorization server: /oauth/* on the control plane (and the token listener); RFC 8414 metadata
  // and the JWKS on the public listener. docs/auth.md "Authorization server".
  registerOAuthRoutes(control, authorizationServer.server);
  if (apps.oauthToken !== undefined) registerOAuthRoutes(apps.oauthToken, authorizationServer.server);
  const oauthMetadata = () => authorizationServer.metadata(addresses.oauthToken?.port);
  registerOAuthMetadataRoutes(control, oauthMetadata);
  registerOAuthMetadataRoutes(publicApp, oauthMetadata, authorizationServer.jwks);
  // One IngestDeps for both telemetry transports (HTTPS here, MQTT below): same limits, same state.
  // Telemetry ingest (issue 5): group commit (COPY on PostgreSQL), device keys and signature policies,
  // per-device token buckets and connection cap, the clock-skew flag — one pipeline. docs/telemetry.md.
  const telemetryIngest = startTelemetryIngest({
    store,
    audit,
    now,
    config: config.telemetryIngest,
    replayWindow: config.telemetry.replayWindow,
    dataDir,
    registry: metrics.registry,
    logger,
    ...(config.store.engine === 'postgres'
      ? {
          postgres: {
            url: config.store.url,
            ...(options.postgresSchema ? { schema: options.postgresSchema } : {}),
          },
        }
      : {}),
  });
  const ingestDeps: IngestDeps = { store, audit, limits: config.telemetry, now, ingest: telemetryIngest };
  registerTelemetryRoutes(telemetry, ingestDeps, events);
  registerPublicRoutes(publicApp, {
    get caBundle() {
      return liveTls.material.ca; // the bundle in force, also after a CA rollover
    },
  });
  // The audit log's read API: checkpoint, verifier keys, entries, proofs, receipts, tlog-tiles.
  registerAuditRoutes(publicApp, {
    store,
    origin: config.audit.origin,
    vkeys: [keys.vkey, keys.mlDsaVkey],
    config: config.audit,
  });
  // Witness cosignatures (docs/audit.md "Witness"): asked after each checkpoint, never blocking it.
  const witnessClient = startWitnessClient({
    store,
    audit,
    witnesses: config.audit.witnesses,
    dataDir,
    events,
    registry: metrics.registry,
    logger,
    now,
  });
  registerOpsRoutes(ops, { store, metrics, ready: () => ready });
  // Revocation: CRL and OCSP on the public listener; revoked certificates refused and their open
  // connections closed on every TLS listener within seconds. docs/pki.md "Revocation".
  const revocation = await startRevocationService({
    dataDir,
    store,
    audit,
    now,
    logger,
    config: config.revocation,
    registry: metrics.registry,
  });
  // Our own RFC 5280 validation of every client chain, after OpenSSL's (docs/pki.md "Path validation").
  // Attached before the revocation enforcer: 'secureConnection' listeners are prepended, so the
  // enforcer runs first and a revoked certificate is refused (and audited) by it.
  const pathCheck = new ConnectionPathCheck({
    audit,
    now,
    trustBundle: () => liveTls.material.ca,
    isRevoked: (serial) => revocation.enforcer.revoked.has(serial),
    onRefused: (listener, code) => {
      events.emit('tls.refused', { listener, reason: code });
      logger.warn({ listener, code }, 'client certificate refused by path validation');
    },
  });
  for (const name of ['controlPlane', 'telemetry', 'public'] as const)
    pathCheck.attach(apps[name] as AnyFastify, name);
  if (apps.oauthToken !== undefined) pathCheck.attach(apps.oauthToken, 'oauthToken');
  for (const name of ['controlPlane', 'telemetry', 'public'] as const) {
    revocation.enforcer.attach(apps[name] as AnyFastify, name);
  }
  if (apps.oauthToken !== undefined) revocation.enforcer.attach(apps.oauthToken, 'oauthToken');
  registerRevocationRoutes(publicApp, revocation);
  // Enrollment (EST) and rotation: docs/pki.md "Enrollment (EST)" and "Rotation".
  const rotationMetrics = registerRotationMetrics(metrics.registry, store, {
    renewAtFraction: config.rotation.renewAtFraction,
    now,
  });
  registerEstRoutes(publicApp, {
    store,
    audit,
    now,
    dataDir,
    enrollment: config.enrollment,
    rotation: config.rotation,
    onSuccession: rotationMetrics.observe,
    manufacturerAnchors: loadManufacturerAnchors(dataDir, config.enrollment.manufacturerCaFile),
    fleet: () => config.fleet.vehicles,
    caBundlePath: join(dataDir, 'pki', 'ca.pem'),
  });
  const rotationJob = startRotationJob(
    { store, audit, now, logger },
    config.rotation.checkIntervalSeconds * 1000,
  );
  // SIEM export (auditExport.sinks) and the daily retention job: docs/audit.md "SIEM export",
  // "Retention and redaction". Both run beside requests, never on their path.
  const auditExport = startAuditExport(
    { store, origin: config.audit.origin, dataDir, now, logger, registry: metrics.registry },
    config.auditExport,
  );
  const retentionJob = startRetentionJob({ store, audit, now, logger }, config.audit.retention);

  const publishTimer = setInterval(() => {
    audit
      .publish()
      .then((cp) => {
        if (cp !== undefined) events.emit('audit.checkpoint', { size: cp.size });
      })
      .catch((error: unknown) => logger.error({ err: error }, 'checkpoint publication failed'));
  }, config.audit.checkpointIntervalMs);
  publishTimer.unref();

  const addresses = {} as Gateway['addresses'];
  let mqtt: MqttSubscriber | undefined;
  try {
    for (const [name, app] of Object.entries(apps) as [ListenerName, AnyFastify][]) {
      const l: ListenerConfig | null =
        name === 'oauthToken' ? config.auth.tokenListener : config.listeners[name];
      if (l === null) continue;
      await app.listen({ host: l.host, port: l.port });
      const bound = app.server.address() as AddressInfo;
      addresses[name] = { host: l.host, port: bound.port };
    }
    // MQTT telemetry (mqtt.enabled; docs/mqtt.md): connects in the background and never delays startup.
    if (config.mqtt.enabled) {
      mqtt = startMqttSubscriber({
        config: config.mqtt,
        credentials: await ensureMqttClientIdentity({ dataDir, config, store, audit }),
        message: {
          ingest: ingestDeps,
          store,
          audit,
          events,
          logger,
          now,
          maxEnvelopeBytes: config.telemetry.maxEnvelopeBytes,
        },
        logger,
        registry: metrics.registry,
      });
    }
  } catch (error) {
    await mqtt?.close();
    await telemetryIngest.close();
    clearInterval(publishTimer);
    liveTls.stop();
    await rotationJob.stop();
    await retentionJob.stop();
    await auditExport.stop();
    await Promise.allSettled(Object.values(apps).map((a) => a.close()));
    await webhooks.stop();
    await edi.stop();
    await revocation.close();
    await witnessClient.close();
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
    tls: liveTls,
    addresses,
    telemetryIngest,
    ...(mqtt === undefined ? {} : { mqtt }),
    edi,
    close: () => {
      closing ??= (async () => {
        ready = false;
        clearInterval(publishTimer);
        liveTls.stop();
        await rotationJob.stop();
        await retentionJob.stop();
        await auditExport.stop(); // a delivery in flight is aborted; its batch is sent again next start
        await Promise.allSettled(Object.values(apps).map((a) => a.close()));
        await webhooks.stop(); // attempts in flight are recorded first
        await edi.stop(); // the round in progress commits (or rolls back) first
        await mqtt?.close(); // the message in hand is stored or refused, and acknowledged, first
        await telemetryIngest.close(); // drains group commit: every batch answered 202 is stored
        await revocation.close();
        // A store that no longer matches its checkpoints (AUDIT_LOG_INCONSISTENT) is not signed over;
        // the store is closed regardless.
        try {
          const cp = await audit.publish();
          if (cp !== undefined) events.emit('audit.checkpoint', { size: cp.size });
        } catch (error) {
          logger.error({ err: error }, 'final checkpoint not published');
        }
        await witnessClient.close();
        await store.close();
        logger.info('gateway stopped');
      })();
      return closing;
    },
  };
}
