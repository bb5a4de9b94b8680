/**
 * The per-request check behind connection enforcement: a request on a connection whose certificate is
 * in the revoked set gets a coded 401 AUTH_CERTIFICATE_REVOKED (RFC 9457 problem+json), is audited
 * with the certificate's thumbprint, and the connection is closed after the answer — on HTTP/1.1
 * keep-alive and on HTTP/2. Here the set learns of the revocation without closing the connection (as
 * in a race with the poll), so only the request hook stands between the certificate and the route.
 * Real TLS 1.3 listeners with the gateway's TLS policy, a real store and audit log.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect as http2Connect } from 'node:http2';
import { Agent, request } from 'node:https';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import Fastify from 'fastify';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatewayEvents } from '../../src/events.ts';
import { type AnyFastify, installCommon } from '../../src/http/common.ts';
import { tlsServerOptions } from '../../src/http/tls-policy.ts';
import { createMetrics } from '../../src/observability/metrics.ts';
import { normaliseSerial } from '../../src/pki/inventory.ts';
import { RevocationEnforcer } from '../../src/pki/revocation/enforcement.ts';
import { engines } from '../support/engines.ts';
import { type Credentials, startTestGateway, type TestGateway } from '../support/harness.ts';
import { auditEntries } from './support.ts';

const serialOf = (creds: Credentials) => normaliseSerial(new X509Certificate(creds.cert).serialNumber);

function get(url: string, agent: Agent): Promise<{ status: number; body: string; socket: Socket }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => {
        body += c.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, socket: req.socket as Socket }));
    });
    req.on('error', reject);
    req.end();
  });
}

for (const engine of engines()) {
  describe(`request-level revocation check on ${engine.name}`, () => {
    let t: TestGateway;
    let enforcer: RevocationEnforcer;
    const apps: AnyFastify[] = [];
    const urls: { h1: string; h2: string } = { h1: '', h2: '' };

    beforeAll(async () => {
      t = await startTestGateway(engine);
      enforcer = new RevocationEnforcer({
        store: t.gateway.store,
        audit: t.gateway.audit,
        logger: pino({ level: 'silent' }),
      });
      const pki = join(t.dataDir, 'pki');
      const material = {
        key: readFileSync(join(pki, 'server', 'key.pem'), 'utf8'),
        cert: readFileSync(join(pki, 'server', 'chain.pem'), 'utf8'),
        ca: readFileSync(join(pki, 'ca.pem'), 'utf8'),
      };
      const metrics = createMetrics(new GatewayEvents());
      const h1 = Fastify({ https: tlsServerOptions(material, true) }) as unknown as AnyFastify;
      const h2 = Fastify({
        http2: true,
        https: { ...tlsServerOptions(material, true), allowHTTP1: true },
      }) as unknown as AnyFastify;
      for (const [name, app] of [
        ['probe-h1', h1],
        ['probe-h2', h2],
      ] as const) {
        installCommon(app, name, metrics);
        // Only the request hook: no 'secureConnection' registration, so nothing closes the connection early.
        app.addHook('onRequest', async (req, reply) => enforcer.checkRequest(req.raw, reply, name));
        app.get('/whoami', async () => ({ ok: true }));
        await app.listen({ host: '127.0.0.1', port: 0 });
        apps.push(app);
      }
      urls.h1 = `https://127.0.0.1:${(h1.server.address() as { port: number }).port}`;
      urls.h2 = `https://127.0.0.1:${(h2.server.address() as { port: number }).port}`;
    });
    afterAll(async () => {
      await Promise.allSettled(apps.map((a) => a.close()));
      await enforcer?.settled();
      await t?.stop();
    });

    it('answers 401 AUTH_CERTIFICATE_REVOKED on a kept-alive HTTP/1.1 connection, audits it and closes', async () => {
      const trk3 = t.vehicle('TRK-003');
      const agent = new Agent({
        keepAlive: true,
        maxSockets: 1,
        ca: trk3.ca,
        cert: trk3.chain,
        key: trk3.key,
      });
      try {
        const ok = await get(`${urls.h1}/whoami`, agent);
        expect(ok.status).toBe(200);
        const gone = new Promise<void>((resolve) => ok.socket.once('close', () => resolve()));
        enforcer.revoked.add(serialOf(trk3));
        const refused = await get(`${urls.h1}/whoami`, agent);
        expect(refused.socket).toBe(ok.socket);
        expect(refused.status).toBe(401);
        expect(JSON.parse(refused.body)).toMatchObject({
          code: 'AUTH_CERTIFICATE_REVOKED',
          type: 'https://fleetgate.dev/errors/auth-certificate-revoked',
          status: 401,
        });
        await gone;
      } finally {
        agent.destroy();
      }
      const [entry] = (await auditEntries(t.gateway.store, 'pki.certificate.revoked-use-refused')).filter(
        (e) => (e.entry.details as { listener?: string }).listener === 'probe-h1',
      );
      expect(entry?.entry).toMatchObject({
        actor: { kind: 'vehicle', id: 'TRK-003', certSha256: expect.stringMatching(/^[0-9a-f]{64}$/) },
        subject: { kind: 'certificate', id: serialOf(trk3) },
        outcome: 'rejected',
        details: { stage: 'request', attempts: 1 },
      });
    });

    it('answers 401 on an HTTP/2 session and closes the session', async () => {
      const globex = t.partner('globex-tms');
      const session = http2Connect(urls.h2, { ca: globex.ca, cert: globex.chain, key: globex.key });
      session.on('error', () => {});
      const gone = new Promise<void>((resolve) => session.once('close', () => resolve()));
      const ask = () =>
        new Promise<{ status: number; body: string }>((resolve, reject) => {
          const stream = session.request({ ':path': '/whoami' });
          let body = '';
          let status = 0;
          stream.on('response', (h) => {
            status = Number(h[':status']);
          });
          stream.on('data', (c: Buffer) => {
            body += c.toString();
          });
          stream.on('end', () => resolve({ status, body }));
          stream.on('error', reject);
          stream.end();
        });
      expect((await ask()).status).toBe(200);
      enforcer.revoked.add(serialOf(globex));
      const refused = await ask();
      expect(refused.status).toBe(401);
      expect(JSON.parse(refused.body)).toMatchObject({ code: 'AUTH_CERTIFICATE_REVOKED' });
      await gone;
      await enforcer.settled();
      const entries = (await auditEntries(t.gateway.store, 'pki.certificate.revoked-use-refused')).filter(
        (e) => (e.entry.details as { listener?: string }).listener === 'probe-h2',
      );
      expect(entries.map((e) => e.entry.actor)).toContainEqual(
        expect.objectContaining({ kind: 'partner', id: 'globex-tms' }),
      );
    });
  });
}
