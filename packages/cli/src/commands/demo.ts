/**
 * `npm start` / `fleetgate demo`: the whole product on one machine. Initialises a data directory if
 * needed, starts the gateway on embedded PGlite, proves the handshake policy against itself (TLS 1.2 and
 * a client without a certificate are refused), then runs a simulated fleet (one truck compromised) and a
 * simulated TMS, with a live one-line status. On FLEETGATE_DEMO_SECONDS or SIGINT/SIGTERM it drains
 * in-flight work, seals the audit log with a final checkpoint, verifies it from a fresh connection to
 * the store, and prints `demo summary: {json}`. Exit code 0 only if the audit log verifies.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { connect } from 'node:tls';
import { findClient } from '@fleetgate/gateway/auth/server/client-registry';
import { issuePartnerCredentials, partnerDir } from '@fleetgate/gateway/auth/server/partner-certificate';
import { registerClient } from '@fleetgate/gateway/auth/server/register-client';
import { loadConfig } from '@fleetgate/gateway/config/load';
import { startGateway } from '@fleetgate/gateway/gateway';
import { listCertificates } from '@fleetgate/gateway/pki/inventory';
import { revokeCertificate } from '@fleetgate/gateway/pki/revocation/revoke';
import {
  findMosquitto,
  freeLocalPort,
  type RunningBroker,
  startMosquitto,
} from '@fleetgate/gateway/telemetry/mqtt/broker-process';
import { verifyWebhook } from '@fleetgate/gateway/webhooks/verify';
import { CompromisedTruck } from '@fleetgate/sim/compromised-truck';
import { DispatchDesk } from '@fleetgate/sim/dispatcher';
import { EdiPartner } from '@fleetgate/sim/edi-partner';
import { FleetSimulator, type TruckSpec } from '@fleetgate/sim/fleet';
import { HUBS } from '@fleetgate/sim/geo';
import { randomTender, TmsClient, TmsSimulator } from '@fleetgate/sim/tms';
import { WebhookReceiver } from '@fleetgate/sim/webhook-receiver';
import { Command } from 'commander';
import pino from 'pino';
import { verifyDataDir } from './audit-verify.ts';
import { configureDemoSiem, countSiemEvents, replicateAndVerify, startDemoWitness } from './demo-audit.ts';
import { initDataDir } from './init.ts';

export interface DemoSummary {
  seconds: number;
  dataDir: string;
  trucks: number;
  tendersAccepted: number;
  tendersDeclined: number;
  /** Decided by the operator from the human review queue, each with a reason. */
  tendersReviewed: number;
  tendersDispatched: number;
  tendersDelivered: number;
  /** Lifecycle transitions the dispatch desk recorded through the API. */
  fleetEvents: number;
  trackingReads: number;
  /** X12 204 interchanges the partner uploaded, and the documents it got back, by set (997, 990, 214). */
  ediInterchanges: number;
  ediReceived: Record<string, number>;
  /** Signed webhook deliveries the TMS verified, by event type; 503s it answered on purpose (retried). */
  webhooksReceived: Record<string, number>;
  webhooksRetried: number;
  /** Checkpoints the demo's witness cosigned (served by the gateway with the cosignature). */
  checkpointsCosigned: number;
  /** Audit entries exported to the SIEM as OCSF JSON lines. */
  siemEventsExported: number;
  /** The offsite replica's size after the run, and whether it verified offline. */
  replicaSize: number;
  replicaVerified: boolean;
  telemetryVerified: number;
  telemetryRecords: number;
  telemetryRejected: number;
  rejectionsByCode: Record<string, number>;
  attacksUndetected: number;
  certificatesRevoked: number;
  telemetryByTransport: { https: number; mqtt: number };
  partnerTokensObtained: number;
  tlsHandshakesRefused: number;
  auditEntries: number;
  auditCheckpoints: number;
  auditRootHash: string | null;
  auditVerified: boolean;
}

export interface DemoOptions {
  dataDir: string;
  seconds?: number;
  trucks?: number;
  out?: (line: string) => void;
  /** Resolves when the demo should stop early (signals). */
  stopSignal?: Promise<void>;
  /** Environment overrides (ports, DATABASE_URL); default process.env. */
  env?: NodeJS.ProcessEnv;
}

const LANES = [
  [HUBS.dallas, HUBS.houston],
  [HUBS.fortWorth, HUBS.elPaso],
] as const;

/** Attempts a handshake the policy must refuse; resolves true if it was refused. */
function refused(port: number, ca: string, opts: { maxVersion?: 'TLSv1.2' }): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect({
      host: '127.0.0.1',
      port,
      ca,
      servername: 'localhost',
      ...(opts.maxVersion ? { maxVersion: opts.maxVersion, minVersion: 'TLSv1.2' as const } : {}),
    });
    socket.on('secureConnect', () => socket.write('GET /v1/tenders HTTP/1.1\r\nHost: localhost\r\n\r\n'));
    socket.on('data', () => {
      socket.destroy();
      done(false);
    });
    socket.on('error', () => done(true));
    socket.on('close', () => done(true));
  });
}

export async function runDemo(options: DemoOptions): Promise<DemoSummary> {
  const out = options.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  const started = Date.now();
  const init = await initDataDir({
    dataDir: options.dataDir,
    ...(options.trucks ? { vehicles: options.trucks } : {}),
    ...(options.env ? { env: options.env } : {}),
    configure: (c) => {
      for (const l of [c.listeners.controlPlane, c.listeners.telemetry, c.listeners.public])
        l.host = '127.0.0.1';
      c.log.level = 'info';
      // Loads booked more than three days ahead go to the human review queue (the dispatch desk decides).
      c.tenderEngine.planningHorizonDays = 3;
    },
  });
  const dataDir = init.dataDir;
  const config = loadConfig(dataDir, options.env ?? process.env);
  mkdirSync(join(dataDir, 'logs'), { recursive: true, mode: 0o700 });
  const logger = pino(
    { level: config.log.level },
    pino.destination({ dest: join(dataDir, 'logs', 'gateway.log'), sync: false, mkdir: true }),
  );
  // MQTT through a real Mosquitto when the machine has one: every third truck publishes there, and the
  // gateway subscribes and verifies the same signed envelopes (docs/mqtt.md). Without it, HTTPS only.
  const mosquitto = findMosquitto();
  const mqttPort = mosquitto === undefined ? undefined : await freeLocalPort();
  if (mqttPort !== undefined)
    config.mqtt = { ...config.mqtt, enabled: true, url: `mqtts://127.0.0.1:${mqttPort}` };
  // The TMS's webhook receiver. On this one machine it serves the gateway's own localhost certificate
  // (so the gateway can verify it with no extra setup) and the demo — and only the demo — lets webhooks
  // reach a loopback address; a real deployment keeps allowPrivateAddresses false (docs/tendering.md).
  const serverDir = join(dataDir, 'pki', 'server');
  const receiver = new WebhookReceiver({
    cert: readFileSync(join(serverDir, 'chain.pem'), 'utf8'),
    key: readFileSync(join(serverDir, 'key.pem'), 'utf8'),
    verify: (secret, headers, body) => verifyWebhook(secret, headers, body),
    failOneIn: 7,
  });
  const webhookPort = await receiver.listen();
  const webhookUrl = `https://localhost:${webhookPort}/tms/fleetgate-events`;
  config.webhooks = {
    ...config.webhooks,
    allowPrivateAddresses: true,
    trustedCaFile: 'pki/ca.pem',
    backoffBaseMs: 1_000,
  };
  const tmsPartner = config.partners[0];
  if (tmsPartner !== undefined)
    tmsPartner.webhooks = { allowedUrls: [`https://localhost:${webhookPort}/tms/`] };
  // The transparency log seen from outside: a witness cosigning each checkpoint, a SIEM sink (OCSF JSONL).
  const witness = await startDemoWitness(dataDir, config, logger);
  configureDemoSiem(config);
  const gateway = await startGateway({ dataDir, config, logger });
  let broker: RunningBroker | undefined;
  if (mqttPort !== undefined && mosquitto !== undefined) {
    try {
      broker = await startMosquitto({
        dataDir,
        port: mqttPort,
        vehicles: config.fleet.vehicles,
        maxEnvelopeBytes: config.telemetry.maxEnvelopeBytes,
        binary: mosquitto,
      });
      await gateway.mqtt?.ready();
    } catch (error) {
      out(`  MQTT broker did not start (${(error as Error).message}): HTTPS only`);
      broker = undefined;
    }
  }
  const a = gateway.addresses;
  const url = (port: number) => `https://localhost:${port}`;
  out(
    `fleetgate demo — data directory ${dataDir} (${init.created ? 'created' : 'reused'}), store: ${config.store.engine}`,
  );
  out(
    `  control plane ${url(a.controlPlane.port)}  telemetry ${url(a.telemetry.port)}  public ${url(a.public.port)}  ops http://${a.ops.host}:${a.ops.port}/metrics`,
  );

  const counts = { accepted: 0, declined: 0, verified: 0, records: 0, rejected: 0, tls: 0, checkpoint: 0 };
  const rejectionsByCode: Record<string, number> = {};
  gateway.events.on('tender.decided', (e) => {
    if (e.decision === 'accepted') counts.accepted += 1;
    else counts.declined += 1;
  });
  gateway.events.on('telemetry.accepted', (e) => {
    counts.verified += 1;
    counts.records += e.records;
  });
  gateway.events.on('telemetry.rejected', (e) => {
    counts.rejected += 1;
    rejectionsByCode[e.code] = (rejectionsByCode[e.code] ?? 0) + 1;
  });
  gateway.events.on('tls.refused', () => {
    counts.tls += 1;
  });
  gateway.events.on('audit.checkpoint', (e) => {
    counts.checkpoint = e.size;
  });

  const pki = join(dataDir, 'pki');
  const ca = readFileSync(join(pki, 'ca.pem'), 'utf8');
  const tls12 = await refused(a.controlPlane.port, ca, { maxVersion: 'TLSv1.2' });
  const noCert = await refused(a.controlPlane.port, ca, {});
  out(
    `  handshake policy: TLS 1.2 ${tls12 ? 'refused ✓' : 'ACCEPTED ✗'}, client without certificate ${noCert ? 'refused ✓' : 'ACCEPTED ✗'}`,
  );

  const vehicles = config.fleet.vehicles;
  const creds = (id: string) => ({
    chain: readFileSync(join(pki, 'devices', id, 'chain.pem'), 'utf8'),
    key: readFileSync(join(pki, 'devices', id, 'key.pem'), 'utf8'),
    ca,
  });
  const honest = vehicles.slice(0, -1);
  const compromisedId = vehicles.at(-1) as string;
  const specs: TruckSpec[] = honest.map((id, i) => ({
    vehicleId: id,
    lane: LANES[i % LANES.length] as TruckSpec['lane'],
    credentials: creds(id),
    startFraction: (i * 0.37) % 1,
  }));
  const stateDir = join(dataDir, 'sim');
  const fleet = new FleetSimulator({
    baseUrl: url(a.telemetry.port),
    trucks: specs,
    stateDir,
    ...(broker ? { mqtt: { url: broker.url, servername: 'localhost' } } : {}),
  });
  const rogue = new CompromisedTruck({
    vehicleId: compromisedId,
    victimId: honest[0] as string,
    credentials: creds(compromisedId),
    baseUrl: url(a.telemetry.port),
    stateDir,
  });
  const partner = config.partners[0];
  if (partner === undefined) throw new Error('the config names no partner');
  const credentialsOf = (dir: string) => ({
    cert: readFileSync(join(dir, 'chain.pem'), 'utf8'),
    key: readFileSync(join(dir, 'key.pem'), 'utf8'),
    ca,
  });
  // The TMS registers its webhook endpoint through the API and keeps the secret it is shown once.
  const registrar = new TmsClient(url(a.controlPlane.port), credentialsOf(join(pki, 'partners', partner.id)));
  // A re-run on the same data directory: the endpoints of earlier runs (other ports) are retired first.
  const earlier = await registrar.call('GET', '/v1/webhooks/endpoints');
  for (const item of Array.isArray(earlier.body.items) ? (earlier.body.items as { id?: unknown }[]) : [])
    if (typeof item.id === 'string')
      await registrar.call('DELETE', `/v1/webhooks/endpoints/${encodeURIComponent(item.id)}`);
  const endpoint = await registrar.call('POST', '/v1/webhooks/endpoints', { url: webhookUrl });
  registrar.close();
  if (endpoint.status === 201 && typeof endpoint.body.secret === 'string')
    receiver.secret = endpoint.body.secret;
  else out(`  webhook endpoint refused (${endpoint.status}): the TMS follows its loads by polling only`);
  // The fleet's dispatch desk is an API client of its own (scope admin), registered on first run as
  // `fleetgate partner add` would: it works the review queue and records each load's fleet events.
  const deskDir = await ensureDispatchDesk(gateway, dataDir);
  const desk = new DispatchDesk({
    baseUrl: url(a.controlPlane.port),
    credentials: credentialsOf(deskDir),
    vehicles: honest,
    intervalMs: 1_200,
  });
  const tms = new TmsSimulator({
    baseUrl: url(a.controlPlane.port),
    credentials: credentialsOf(join(pki, 'partners', partner.id)),
    intervalMs: 1_500,
    onTendered: (id, status) => {
      if (status === 'accepted') desk.accepted(id);
    },
  });
  const tty = process.stdout.isTTY === true && options.out === undefined;
  // The same partner also tenders by EDI: a 204 every few seconds over HTTPS, collecting its 997, 990
  // and the 214s of each step to delivery from the EDI outbox (docs/tendering.md "EDI X12").
  const ediIds = partner.edi;
  const edi =
    ediIds === undefined
      ? undefined
      : new EdiPartner({
          baseUrl: url(a.controlPlane.port),
          credentials: credentialsOf(join(pki, 'partners', partner.id)),
          ids: {
            partnerQualifier: ediIds.isaQualifier,
            partnerId: ediIds.isaId,
            gatewayQualifier: config.edi.ourIsaQualifier,
            gatewayId: config.edi.ourIsaId,
            partnerGsId: ediIds.gsId ?? ediIds.isaId,
            gatewayGsId: config.edi.ourGsId,
          },
          // Never reused across runs on the same data directory: seconds since 2026 keep increasing.
          firstControlNumber: (Math.floor((Date.now() - Date.UTC(2026, 0, 1)) / 1000) % 900_000_000) + 1,
        });
  await edi?.skipExisting().catch(() => undefined);
  let ediSequence = 0;
  let ediInFlight: Promise<void> = Promise.resolve();
  const ediTimer = setInterval(() => {
    if (edi === undefined) return;
    ediInFlight = ediInFlight.then(async () => {
      try {
        ediSequence += 1;
        const res = await edi.tender(randomTender(Math.random, new Date(), ediSequence, 'ACME-EDI'));
        const sets = Array.isArray(res.body.sets) ? (res.body.sets as Record<string, unknown>[]) : [];
        for (const set of sets)
          if (set.decision === 'accepted' && typeof set.tenderId === 'string') desk.accepted(set.tenderId);
        await edi.collect();
      } catch {
        // Counted by the partner's stats (refused); the demo goes on.
      }
    });
  }, 4_000);
  out(
    `  ${honest.length} trucks on Dallas–Houston and Fort Worth–El Paso (${broker ? `every third over MQTT via Mosquitto at ${broker.url}, the rest` : 'all'} over HTTPS/2), ${compromisedId} compromised (replays, tampers, impersonates ${honest[0]}); TMS ${partner.id} tendering with DPoP-bound OAuth tokens over REST${edi ? ' and X12 204s over HTTPS' : ''}`,
  );
  out(
    `  dispatch desk ${DESK_ID} (scope admin): decides the review queue with reasons, drives each accepted load dispatched → … → delivered`,
  );
  fleet.start();
  rogue.start(4_000);
  tms.start();
  desk.start();

  // The operator notices the compromised truck and revokes its certificate (as `fleetgate device revoke`
  // does): its open connection is cut within seconds and every later attempt is refused at the handshake.
  let revokedSerials: string[] = [];
  const revokeAfterMs = Math.min(15_000, Math.max(6_000, ((options.seconds ?? 60) * 1_000) / 2));
  const revokeTimer = setTimeout(() => {
    (async () => {
      const active = await listCertificates(gateway.store, {
        kind: 'vehicle',
        subjectId: compromisedId,
        status: 'active',
      });
      for (const cert of active) {
        await revokeCertificate(
          { store: gateway.store, audit: gateway.audit, now: () => new Date() },
          {
            serialNumber: cert.serialNumber,
            reason: 'keyCompromise',
            actor: { kind: 'operator', id: 'demo-operator' },
          },
        );
      }
      revokedSerials = active.map((c) => c.serialNumber);
      out(
        `${tty ? '\n' : ''}  operator revoked ${compromisedId} (keyCompromise, serial ${revokedSerials.join(', ')}): its connection is closed, ` +
          'the CRL and OCSP say revoked, later attempts are refused',
      );
    })().catch((error: unknown) => out(`  revocation failed: ${(error as Error).message}`));
  }, revokeAfterMs);

  const status = () => {
    const secs = Math.round((Date.now() - started) / 1000);
    return (
      `[${String(secs).padStart(4)}s] telemetry ✓ ${counts.verified} batches (${counts.records} records) ✗ ${counts.rejected}` +
      ` | tenders ✓ ${counts.accepted} ✗ ${counts.declined} delivered ${desk.stats.delivered} | EDI ${edi?.stats.interchangesSent ?? 0} in, ${Object.values(edi?.stats.received ?? {}).reduce((x, y) => x + y, 0)} out | webhooks ${Object.values(receiver.stats.byType).reduce((x, y) => x + y, 0)} | audit checkpoint ${counts.checkpoint} | tls refused ${counts.tls}`
    );
  };
  let ticks = 0;
  const statusTimer = setInterval(() => {
    ticks += 1;
    if (tty) process.stdout.write(`\r${status()}\u001b[K`);
    else if (ticks % 5 === 0) out(status());
  }, 1_000);

  const timeout =
    options.seconds !== undefined
      ? new Promise<void>((done) => setTimeout(done, (options.seconds as number) * 1_000).unref())
      : new Promise<void>(() => {});
  await Promise.race([timeout, options.stopSignal ?? new Promise<void>(() => {})]);

  clearInterval(statusTimer);
  clearTimeout(revokeTimer);
  if (tty) process.stdout.write(`\r${status()}\u001b[K\n`);
  out('stopping: draining the fleet and the TMS, sealing the audit log…');
  clearInterval(ediTimer);
  await ediInFlight;
  await Promise.all([fleet.stop(), rogue.stop(), tms.stop(), desk.stop()]);
  // The last 214s (delivered) are generated after the desk's final events: collect them before stopping.
  await new Promise((done) => setTimeout(done, config.edi.pollIntervalMs + 500));
  await edi?.collect().catch(() => 0);
  edi?.close();
  await receiver.close();
  // An offsite replica through the public read API, verified offline from the copy.
  const replica = await replicateAndVerify(dataDir, url(a.public.port), ca);
  const [cosigned] = await gateway.store.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM audit_cosignatures',
  );
  await gateway.close();
  await witness.close();
  out(
    `witness ${witness.name} cosigned ${cosigned?.n ?? 0} checkpoints; replica at ${join(dataDir, 'replica')} holds ${replica.size} entries, ${replica.verified ? 'verified offline ✓' : `NOT VERIFIED ✗ (${replica.problem})`}; ${countSiemEvents(dataDir)} OCSF events in ${join(dataDir, 'siem')}`,
  );
  await broker?.stop();
  logger.flush();
  const report = await verifyDataDir(dataDir, true, options.env ?? process.env);
  out(
    `audit log: ${report.entries} entries, ${report.checkpoints} signed checkpoints, ${report.ok ? 'verified ✓' : 'VERIFICATION FAILED ✗'}`,
  );
  for (const p of report.problems)
    out(`  ${p.index !== undefined ? `index ${p.index}` : `checkpoint ${p.checkpointSize}`}: ${p.problem}`);
  return {
    seconds: Math.round((Date.now() - started) / 1000),
    dataDir,
    trucks: vehicles.length,
    tendersAccepted: counts.accepted,
    tendersDeclined: counts.declined,
    tendersReviewed: desk.stats.reviewed,
    tendersDispatched: desk.stats.dispatched,
    tendersDelivered: desk.stats.delivered,
    fleetEvents: desk.stats.events,
    trackingReads: tms.stats.trackingReads,
    ediInterchanges: edi?.stats.interchangesSent ?? 0,
    ediReceived: { ...(edi?.stats.received ?? {}) },
    webhooksReceived: { ...receiver.stats.byType },
    webhooksRetried: receiver.stats.failedOnPurpose,
    checkpointsCosigned: cosigned?.n ?? 0,
    siemEventsExported: countSiemEvents(dataDir),
    replicaSize: replica.size,
    replicaVerified: replica.verified,
    telemetryVerified: counts.verified,
    telemetryRecords: counts.records,
    telemetryRejected: counts.rejected,
    rejectionsByCode,
    attacksUndetected: rogue.stats.undetected,
    certificatesRevoked: revokedSerials.length,
    telemetryByTransport: { ...fleet.stats.acceptedByTransport },
    partnerTokensObtained: tms.tokensObtained,
    tlsHandshakesRefused: counts.tls,
    auditEntries: report.entries,
    auditCheckpoints: report.checkpoints,
    auditRootHash: report.rootHash,
    auditVerified: report.ok,
  };
}

const DESK_ID = 'fleet-dispatch';

/** Registers the dispatch desk's client (tenant fleet-ops, scope admin) and certificate once. */
async function ensureDispatchDesk(
  gateway: Awaited<ReturnType<typeof startGateway>>,
  dataDir: string,
): Promise<string> {
  const deps = { store: gateway.store, audit: gateway.audit, now: () => new Date() };
  const actor = { kind: 'operator' as const, id: 'demo-operator' };
  if ((await findClient(gateway.store, DESK_ID)) === undefined) {
    await registerClient(
      deps,
      {
        clientId: DESK_ID,
        tenantId: 'fleet-ops',
        scopes: ['admin', 'tenders:read'],
        tokenLifetimeSeconds: 300,
      },
      actor,
    );
  }
  const dir = partnerDir(dataDir, DESK_ID);
  if (!existsSync(join(dir, 'chain.pem')))
    await issuePartnerCredentials({ ...deps, dataDir }, DESK_ID, actor);
  return dir;
}

export function demoCommand(setExit: (code: number) => void): Command {
  return new Command('demo')
    .description(
      'run the gateway with a simulated fleet and TMS (FLEETGATE_DEMO_SECONDS=N stops after N seconds)',
    )
    .option('--data-dir <dir>', 'data directory', process.env.FLEETGATE_DEMO_DIR ?? '.fleetgate/demo')
    .option('--seconds <n>', 'stop after n seconds', process.env.FLEETGATE_DEMO_SECONDS)
    .action(async (opts: { dataDir: string; seconds?: string }) => {
      const seconds = opts.seconds === undefined || opts.seconds === '' ? undefined : Number(opts.seconds);
      if (seconds !== undefined && (!Number.isFinite(seconds) || seconds <= 0))
        throw new Error('--seconds must be a positive number');
      const stopSignal = new Promise<void>((done) => {
        process.once('SIGINT', done);
        process.once('SIGTERM', done);
      });
      const summary = await runDemo({
        dataDir: resolve(opts.dataDir),
        ...(seconds ? { seconds } : {}),
        stopSignal,
      });
      console.log(`demo summary: ${JSON.stringify(summary)}`);
      setExit(summary.auditVerified && summary.replicaVerified ? 0 : 1);
    });
}
