/**
 * CA rollover with no downtime, on a real gateway (every engine): a client with a certificate from the
 * old hierarchy and one from the new hierarchy both connect before, during and after the rollover,
 * and connections opened earlier stay open across each reload of the trust bundle (the gateway
 * installs the new secure context with setSecureContext, never restarting a listener).
 *
 *   before   old client connects (connection A stays open)
 *   begin    `fleetgate ca rollover`: ca.pem carries both anchors, issuance moves to the new intermediate;
 *            A still answers, a new old-hierarchy connection works, a client with a new-hierarchy
 *            certificate connects (connection C stays open), GET /pki/ca.pem serves both anchors
 *   complete `fleetgate ca rollover --complete`: the server certificate is re-issued under the new
 *            hierarchy, the old anchor leaves ca.pem; A and C still answer; new connections work with
 *            the new certificate and are refused with the old one — also through a resumption ticket
 *            issued before the change (ticket keys rotate with the trust)
 *
 * Each reload is recorded in the audit log ('pki.trust-bundle.reloaded'). The CLI commands drive the
 * same code paths here (caRolloverCommand, caStatusCommand).
 */
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { caRolloverCommand } from '../../../cli/src/commands/ca-rollover.ts';
import { caStatusCommand } from '../../../cli/src/commands/ca-status.ts';
import { loadIssuingCa } from '../../src/pki/ca.ts';
import { issuePartnerCertificate } from '../../src/pki/issue.ts';
import { anchorThumbprints } from '../../src/pki/rollover/live-tls.ts';
import { engines } from '../support/engines.ts';
import { startTestGateway, type TestGateway } from '../support/harness.ts';
import { type ClientIdentity, KeepAliveClient, tlsExchange } from './clients.ts';

/** Runs a `fleetgate ca …` command object in-process; returns its exit code and what it printed. */
async function ca(
  command: (setExit: (code: number) => void) => import('commander').Command,
  args: string[],
): Promise<{ code: number; out: string }> {
  let code = -1;
  const lines: string[] = [];
  const log = console.log;
  console.log = (...parts: unknown[]) => lines.push(parts.join(' '));
  try {
    await command((c) => {
      code = c;
    })
      .exitOverride()
      .parseAsync(args, { from: 'user' });
  } catch (error) {
    code = 1; // what packages/cli/src/main.ts does with an error thrown by a command
    lines.push(`fleetgate: ${(error as Error).message}`);
  } finally {
    console.log = log;
  }
  return { code, out: lines.join('\n') };
}

for (const engine of engines()) {
  describe(`CA rollover on ${engine.name}`, () => {
    let t: TestGateway;
    let oldClient: ClientIdentity;
    const clients: KeepAliveClient[] = [];
    const keepAlive = (identity: ClientIdentity): KeepAliveClient => {
      const client = new KeepAliveClient(identity);
      clients.push(client);
      return client;
    };
    const port = () => t.gateway.addresses.controlPlane.port;
    const tenders = () => `${t.url.control}/v1/tenders/tnd_00000000-0000-4000-8000-000000000000`;
    /** Any HTTP answer proves the handshake — client certificate included — was accepted. */
    const answered = (status: number) => expect(status).toBeGreaterThanOrEqual(200);

    beforeAll(async () => {
      t = await startTestGateway(engine);
      // The CLI reads DIR/fleetgate.json (key custody settings); the harness keeps its config in memory.
      writeFileSync(join(t.dataDir, 'fleetgate.json'), JSON.stringify(t.gateway.config), { mode: 0o600 });
      const acme = t.partner('acme-tms');
      oldClient = { cert: acme.chain, key: acme.key, ca: acme.ca };
    });
    afterAll(async () => {
      for (const client of clients) client.close();
      await t?.stop();
    });

    it('before, during and after: both hierarchies connect, and open connections survive each reload', async () => {
      // before
      const a = keepAlive(oldClient);
      answered((await a.get(tenders())).status);
      const before = await tlsExchange(port(), oldClient);
      expect(before.session).toBeDefined();

      // begin: new root + intermediate; both anchors trusted; issuance moves
      const begun = await ca(caRolloverCommand, ['--data-dir', t.dataDir]);
      expect(begun.code).toBe(0);
      expect(begun.out).toMatch(/rolled over to generation 2/);
      const reload1 = await t.gateway.tls.check();
      expect(reload1?.anchorsAdded).toHaveLength(1);
      expect(reload1?.anchorsRemoved).toEqual([]);
      expect(reload1?.anchors).toHaveLength(2);

      const stillA = await a.get(tenders());
      answered(stillA.status);
      expect(stillA.reused).toBe(true); // connection A was open before and is still the same one
      answered((await keepAlive(oldClient).get(tenders())).status); // a fresh old-hierarchy connection

      const published = await keepAlive({ ca: oldClient.ca }).get(`${t.url.public}/pki/ca.pem`);
      expect(anchorThumbprints(published.body)).toEqual(reload1?.anchors);
      const issuing = await loadIssuingCa(t.dataDir);
      expect(issuing.certificate.subject).toContain('CN=fleetgate Intermediate CA G2');
      const newKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const issued = await issuePartnerCertificate(issuing, {
        partnerId: 'globex-tms',
        publicKey: newKey.publicKey,
      });
      const newClient: ClientIdentity = {
        cert: issued.chainPem,
        key: newKey.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
        ca: published.body,
      };
      const c = keepAlive(newClient);
      answered((await c.get(tenders())).status);

      const status = await ca(caStatusCommand, ['--data-dir', t.dataDir, '--json']);
      const parsed = JSON.parse(status.out) as {
        phase: string;
        intermediates: { issuing: boolean; subject: string }[];
      };
      expect(parsed.phase).toBe('overlap');
      expect(parsed.intermediates.filter((i) => i.issuing).map((i) => i.subject)).toEqual([
        'O=fleetgate, CN=fleetgate Intermediate CA G2',
      ]);

      // complete: the old anchor leaves (forced: the harness's old partner and device certificates remain)
      const refused = await ca(caRolloverCommand, ['--data-dir', t.dataDir, '--complete']);
      expect([refused.code, refused.out]).toEqual([1, expect.stringMatching(/still chain to the previous/)]);
      const completed = await ca(caRolloverCommand, ['--data-dir', t.dataDir, '--complete', '--force']);
      expect(completed.code).toBe(0);
      expect(completed.out).toMatch(/re-issued under the new intermediate/);
      const reload2 = await t.gateway.tls.check();
      expect(reload2?.anchorsRemoved).toEqual([anchorThumbprints(oldClient.ca)[0]]);
      expect(reload2?.anchors).toHaveLength(1);

      // after: open connections keep working; new connections follow the new trust
      const afterA = await a.get(tenders());
      expect([afterA.reused, afterA.status >= 200]).toEqual([true, true]);
      const afterC = await c.get(tenders());
      expect([afterC.reused, afterC.status >= 200]).toEqual([true, true]);
      const newBundle = readFileSync(join(t.dataDir, 'pki', 'ca.pem'), 'utf8');
      const fresh = await tlsExchange(port(), { ...newClient, ca: newBundle });
      expect(fresh.peer.issuer.CN).toBe('fleetgate Intermediate CA G2'); // the re-issued server certificate
      await expect(tlsExchange(port(), { ...oldClient, ca: newBundle })).rejects.toThrow();
      // A ticket from before the change must not smuggle the old certificate back in.
      await expect(
        tlsExchange(port(), { ...oldClient, ca: newBundle }, { session: before.session as Buffer }),
      ).rejects.toThrow();

      const rows = await t.gateway.store.query<{ entry: string }>(
        'SELECT entry FROM audit_entries ORDER BY idx',
      );
      const reloads = rows
        .map(
          (r) =>
            JSON.parse(r.entry) as {
              class: string;
              details?: { anchorsAdded: string[]; anchorsRemoved: string[] };
            },
        )
        .filter((e) => e.class === 'pki.trust-bundle.reloaded');
      expect(reloads.map((e) => [e.details?.anchorsAdded.length, e.details?.anchorsRemoved.length])).toEqual([
        [1, 0],
        [0, 1],
      ]);
    });
  });
}
