/**
 * Revocation is enforced within 5 seconds on every mTLS listener, including connections already open:
 * a keep-alive HTTPS connection on the control plane and an HTTP/2 session on the telemetry listener,
 * open when the revocation happens, are closed; new connections with the revoked certificate are
 * refused right after the handshake, and each refusal is audited. Revocations made in this process
 * (revokeCertificate on the gateway's store) and elsewhere (another Store on the same database, as
 * another node or the CLI — enforced through the poll) alike. On every store engine.
 */
import { X509Certificate } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import { type ClientHttp2Session, connect as http2Connect } from 'node:http2';
import { Agent, request } from 'node:https';
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAuditKeys } from '../../src/audit/keys.ts';
import { AuditLog } from '../../src/audit/log.ts';
import { normaliseSerial } from '../../src/pki/inventory.ts';
import { revokeCertificate } from '../../src/pki/revocation/revoke.ts';
import { openStore } from '../../src/store/open.ts';
import type { Store } from '../../src/store/store.ts';
import { engines } from '../support/engines.ts';
import { batchBytes, envelopeBytes, signerFromPem } from '../support/envelopes.ts';
import { type Credentials, startTestGateway, type TestGateway } from '../support/harness.ts';
import { auditEntries, detachedStore, eventually } from './support.ts';

/** The brief's bound: a revocation is enforced on open connections within 5 seconds. */
const ENFORCEMENT_LIMIT_MS = 5_000;

function closed(emitter: EventEmitter): Promise<void> {
  return new Promise((resolve) => emitter.once('close', () => resolve()));
}

async function within<T>(promise: Promise<T>, limitMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`not within ${limitMs} ms: ${what}`)), limitMs);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** One HTTPS/1.1 request on a keep-alive agent; resolves with status and the socket it used. */
function get(url: string, agent: Agent): Promise<{ status: number; socket: Socket }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, socket: req.socket as Socket }));
    });
    req.on('error', reject);
    req.end();
  });
}

function h2Post(session: ClientHttp2Session, body: Uint8Array): Promise<number> {
  return new Promise((resolve, reject) => {
    const stream = session.request({
      ':method': 'POST',
      ':path': '/v1/telemetry',
      'content-type': 'application/x-protobuf',
    });
    stream.on('response', (headers) => resolve(Number(headers[':status'])));
    stream.on('error', reject);
    stream.resume();
    stream.end(body);
  });
}

/** A fresh connection with `creds`: resolves 'refused' when the server closes it before answering. */
function freshAttempt(url: string, creds: Credentials): Promise<'refused' | number> {
  return new Promise((resolve) => {
    const req = request(url, { ca: creds.ca, cert: creds.chain, key: creds.key, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve('refused'));
    req.end();
  });
}

function h2Attempt(url: string, creds: Credentials, body: Uint8Array): Promise<'refused' | number> {
  return new Promise((resolve) => {
    const session = http2Connect(url, { ca: creds.ca, cert: creds.chain, key: creds.key });
    session.on('error', () => resolve('refused'));
    session.on('close', () => resolve('refused'));
    h2Post(session, body).then(
      (status) => {
        resolve(status);
        session.close();
      },
      () => resolve('refused'),
    );
  });
}

const serialOf = (creds: Credentials) => normaliseSerial(new X509Certificate(creds.cert).serialNumber);

for (const engine of engines()) {
  describe(`revocation enforcement on ${engine.name}`, () => {
    let t: TestGateway;
    let other: Store | undefined;
    const refusals = async (listener: string, id: string) =>
      (await auditEntries(t.gateway.store, 'pki.certificate.revoked-use-refused')).filter(
        (e) =>
          (e.entry.details as { listener?: string }).listener === listener &&
          (e.entry.actor as { id?: string }).id === id,
      );

    beforeAll(async () => {
      t = await startTestGateway(engine);
    });
    afterAll(async () => {
      await other?.close();
      await t?.stop();
    });

    it('closes an open keep-alive control-plane connection on revocation and refuses new ones', async () => {
      const acme = t.partner('acme-tms');
      const agent = new Agent({
        keepAlive: true,
        ca: acme.ca,
        cert: acme.chain,
        key: acme.key,
        maxSockets: 1,
      });
      try {
        const first = await get(`${t.url.control}/revocation-probe`, agent);
        expect(first.status).toBeGreaterThanOrEqual(400); // any answer: the connection is up and kept alive
        const second = await get(`${t.url.control}/revocation-probe`, agent);
        expect(second.socket).toBe(first.socket); // really one kept-alive connection
        const gone = closed(first.socket);

        await revokeCertificate(
          { store: t.gateway.store, audit: t.gateway.audit, now: () => new Date() },
          {
            serialNumber: serialOf(acme),
            reason: 'keyCompromise',
            actor: { kind: 'operator', id: 'sec-team' },
          },
        );
        await within(gone, ENFORCEMENT_LIMIT_MS, 'the open control-plane connection is closed');
      } finally {
        agent.destroy();
      }

      expect(await freshAttempt(`${t.url.control}/revocation-probe`, acme)).toBe('refused');
      const audited = await eventually(
        async () => {
          const found = await refusals('controlPlane', 'acme-tms');
          return found.length > 0 && found;
        },
        ENFORCEMENT_LIMIT_MS,
        'the refused handshake is audited',
      );
      expect(audited[0]?.entry).toMatchObject({
        outcome: 'rejected',
        reasons: ['AUTH_CERTIFICATE_REVOKED'],
        actor: { kind: 'partner', id: 'acme-tms' },
        details: { stage: 'handshake' },
      });
      const terminated = await auditEntries(t.gateway.store, 'pki.connection.terminated');
      expect(terminated.map((e) => e.entry.subject)).toContainEqual({
        kind: 'certificate',
        id: serialOf(acme),
      });
      // Another partner is unaffected.
      expect(await freshAttempt(`${t.url.control}/revocation-probe`, t.partner('globex-tms'))).not.toBe(
        'refused',
      );
    });

    it('closes an open HTTP/2 telemetry session when another node revokes, and refuses and audits its next batch', async () => {
      const trk2 = t.vehicle('TRK-002');
      const signer = signerFromPem(trk2.key);
      const session = http2Connect(t.url.telemetry, { ca: trk2.ca, cert: trk2.chain, key: trk2.key });
      session.on('error', () => {});
      const gone = closed(session);
      expect(await h2Post(session, envelopeBytes(signer, 1n, batchBytes('TRK-002')))).toBe(202);

      // Another node (PostgreSQL: a second connection pool; PGlite: the same database through another
      // Store object): no in-process notice reaches the gateway, only its poll of the store.
      if (engine.name === 'postgres' && engine.url !== undefined && t.postgresSchema !== undefined) {
        other = await openStore({ engine: 'postgres', url: engine.url, schema: t.postgresSchema });
      }
      const store = other ?? detachedStore(t.gateway.store);
      const origin = t.gateway.config.audit.origin;
      const keys = loadAuditKeys(t.dataDir, origin);
      const audit = new AuditLog(store, {
        origin,
        privateKey: keys.privateKey,
        mlDsaPrivateKey: keys.mlDsaPrivateKey,
      });
      await revokeCertificate(
        { store, audit, now: () => new Date() },
        {
          serialNumber: serialOf(trk2),
          reason: 'cessationOfOperation',
          actor: { kind: 'operator', id: 'node-b' },
        },
      );
      await within(gone, ENFORCEMENT_LIMIT_MS, 'the open HTTP/2 telemetry session is closed');

      const batch = envelopeBytes(signer, 2n, batchBytes('TRK-002'));
      expect(await h2Attempt(t.url.telemetry, trk2, batch)).toBe('refused');
      expect(await freshAttempt(`${t.url.telemetry}/v1/telemetry`, trk2)).toBe('refused');
      const audited = await eventually(
        async () => {
          const found = await refusals('telemetry', 'TRK-002');
          return found.length > 0 && found;
        },
        ENFORCEMENT_LIMIT_MS,
        'the refused telemetry connection is audited',
      );
      expect(audited[0]?.entry).toMatchObject({
        class: 'pki.certificate.revoked-use-refused',
        actor: { kind: 'vehicle', id: 'TRK-002' },
        subject: { kind: 'certificate', id: serialOf(trk2) },
      });
      const [row] = await t.gateway.store.query<{ n: string }>(
        "SELECT count(*)::int8 AS n FROM telemetry_batches WHERE vehicle_id = 'TRK-002'",
      );
      expect(Number(row?.n)).toBe(1); // only the batch sent before the revocation

      // Vehicles that were not revoked keep sending.
      const trk1 = t.vehicle('TRK-001');
      const ok = await h2Attempt(
        t.url.telemetry,
        trk1,
        envelopeBytes(signerFromPem(trk1.key), 1n, batchBytes('TRK-001')),
      );
      expect(ok).toBe(202);
    });

    it('counts revocations, closed connections and refusals, and reports the CRL age', async () => {
      const res = await fetch(`${t.url.ops}/metrics`);
      const text = await res.text();
      expect(text).toMatch(/fleetgate_certificate_revocations_total\{reason="keyCompromise"\} 1/);
      expect(text).toMatch(/fleetgate_revoked_connections_closed_total [1-9]/);
      expect(text).toMatch(
        /fleetgate_revoked_certificate_refusals_total\{listener="telemetry",stage="handshake"\} [1-9]/,
      );
      expect(text).toMatch(/fleetgate_crl_age_seconds \d/);
      expect(text).toMatch(/fleetgate_crl_number [1-9]/);
    });
  });
}
