/**
 * Security review H10 (#2, #4, #5, #6) on the replica and the offline verifier, on every engine, with a
 * real gateway, real TLS and the real CLI:
 *  - a checkpoint size is used only once its signatures verify: an unsigned `checkpoints/9007199254740991`
 *    in a replica, or a fake size in a gateway's listing, is reported and never followed, and the
 *    verification ends at once; a listing that never ends is cut off at its page and item caps;
 *  - a replica round is bounded (at most maxRoundEntries new entries, stopping at a signed checkpoint of
 *    the gateway's history) and the replica it leaves verifies;
 *  - an ALARM whose file cannot be written is still an ALARM (exit 3, same code), saying so;
 *  - an https:// --to authenticates with a bearer token from --to-token-env; credentials in --to are
 *    refused and never printed.
 */

import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatCheckpoint } from '@fleetgate/core/note/checkpoint';
import { signNote } from '@fleetgate/core/note/signed-note';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../src/audit/event.ts';
import { loadAuditKeys } from '../../src/audit/keys.ts';
import { ReplicaError } from '../../src/audit/replica/errors.ts';
import { replicateOnce } from '../../src/audit/replica/follow.ts';
import { dirTarget } from '../../src/audit/replica/target.ts';
import { verifyAuditSource } from '../../src/audit/verify.ts';
import { parsePinnedAuditKeys } from '../../src/audit/verify-keys.ts';
import { gatewayTlogReader, tlogAuditSource } from '../../src/audit/verify-source-tiles.ts';
import { auditReplicateOnce, auditVerify } from '../support/cli.ts';
import { engines } from '../support/engines.ts';
import { startTestGateway, type TestGateway } from '../support/harness.ts';
import { httpsRequest } from '../support/https-client.ts';

const ORIGIN = 'fleetgate.local/audit';
const HUGE = 9_007_199_254_740_991;
const event = (i: number): AuditEvent => ({
  class: 'tender.decided',
  actor: { kind: 'partner', id: 'acme-tms', certSha256: 'bb'.repeat(32) },
  subject: { kind: 'tender', id: `tnd_bounds_${i}` },
  outcome: 'accepted',
  reasons: ['LANE_SERVED'],
  details: { n: i },
});

for (const engine of engines()) {
  describe(`replica and verifier bounds on ${engine.name}`, () => {
    let t: TestGateway;
    let work: string;
    let replica: string;
    let vkeyFile: string;
    let ca: string;
    const sizes: number[] = [];
    const servers: Server[] = [];
    const keys = () => parsePinnedAuditKeys(readFileSync(vkeyFile, 'utf8'));
    const verifyFrom = (from: string) => auditVerify(t, vkeyFile, from);
    const replicate = (to: string, extra: string[] = [], env: NodeJS.ProcessEnv = {}) =>
      auditReplicateOnce(t, vkeyFile, to, extra, env);
    const serve = async (handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> => {
      const pki = join(t.dataDir, 'pki', 'server');
      const server = createServer(
        {
          key: readFileSync(join(pki, 'key.pem')),
          cert: `${readFileSync(join(pki, 'cert.pem'), 'utf8')}${readFileSync(join(pki, 'chain.pem'), 'utf8')}`,
          minVersion: 'TLSv1.3',
        },
        handler,
      );
      servers.push(server);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return `https://127.0.0.1:${(server.address() as { port: number }).port}`;
    };

    beforeAll(async () => {
      t = await startTestGateway(engine, (c) => {
        c.audit.checkpointIntervalMs = 60_000; // this test publishes explicitly
      });
      ca = readFileSync(t.caPath, 'utf8');
      work = mkdtempSync(join(tmpdir(), 'fleetgate-bounds-'));
      replica = join(work, 'replica');
      for (const n of [300, 100, 100]) {
        const base = sizes.at(-1) ?? 0;
        await Promise.all(Array.from({ length: n }, (_, i) => t.gateway.audit.append(event(base + i))));
        sizes.push((await t.gateway.audit.publish())?.size as number);
      }
      vkeyFile = join(work, 'vkey.txt');
      writeFileSync(vkeyFile, (await httpsRequest(`${t.url.public}/v1/audit/vkey`, { ca })).text);
    });
    afterAll(async () => {
      for (const s of servers) s.close();
      await t?.stop();
      if (work !== undefined) rmSync(work, { recursive: true, force: true });
    });

    it('bounds a round: it stops at a signed checkpoint within maxRoundEntries, and the replica verifies', async () => {
      const [, b, c] = sizes as [number, number, number];
      expect(c - b).toBe(100);
      const options = { from: t.url.public, http: { ca }, target: dirTarget(replica), keys: keys() };
      // c - 1 entries a round: 0 → b (behind: the latest is c), the largest signed size within reach.
      expect(await replicateOnce({ ...options, maxRoundEntries: c - 1 })).toEqual({
        from: 0,
        to: b,
        latest: c,
      });
      // No signed checkpoint within 50 entries of b: refused, nothing written.
      const before = readdirSync(join(replica, 'checkpoints'));
      await expect(replicateOnce({ ...options, maxRoundEntries: 50 })).rejects.toThrow(
        expect.objectContaining({
          code: 'REPLICA_UPSTREAM',
          message: `the gateway lists no signed checkpoint within 50 entries of size ${b}`,
        }),
      );
      expect(readdirSync(join(replica, 'checkpoints'))).toEqual(before);
      expect(await replicateOnce({ ...options, maxRoundEntries: 350 })).toEqual({
        from: b,
        to: c,
        latest: c,
      });
      expect(readdirSync(join(replica, 'checkpoints')).sort()).toEqual([String(b), String(c)].sort());
      const run = await verifyFrom(replica);
      expect(run.code, run.out + run.err).toBe(0);
      expect(run.out).toMatch(new RegExp(`${c} entries, 2 signed checkpoints, verified through size ${c}`));
    });

    it('an unsigned checkpoint file with a huge size in a replica is reported, not followed', async () => {
      const dir = join(work, 'huge-file');
      cpSync(replica, dir, { recursive: true });
      writeFileSync(join(dir, 'checkpoints', String(HUGE)), `${ORIGIN}\n${HUGE}\n${'A'.repeat(43)}=\n`);
      const run = await verifyFrom(dir);
      const c = sizes.at(-1) as number;
      expect(run.code, run.out + run.err).toBe(1);
      expect(run.out).toMatch(
        new RegExp(
          `FAIL checkpoint at size ${HUGE}: checkpoint has no Ed25519 signature .*\\[AUDIT_CHECKPOINT_SIGNATURE_MISSING\\]`,
        ),
      );
      expect(run.out).toMatch(new RegExp(`${c} entries, 3 signed checkpoints, verified through size ${c}`));
      // Only the two signature findings: the entries were read up to the largest VERIFIED size.
      expect(run.out.match(/^FAIL /gm)).toHaveLength(2);
      expect(run.out).not.toMatch(/AUDIT_ENTRY_MISSING|AUDIT_LOG_REWOUND/);
    });

    it('a gateway listing a fake size is reported, not followed; an endless listing is cut off', async () => {
      // A hostile "gateway": the real listing plus a fake size, and the real tiles (from the replica).
      const fake = await serve((req, res) => {
        const url = new URL(req.url ?? '/', 'https://x');
        if (url.pathname === '/v1/audit/checkpoints') {
          httpsRequest(`${t.url.public}/v1/audit/checkpoints?from=0&limit=100`, { ca }).then(
            (r) => {
              const page = r.json() as { checkpoints: { size: number; note: string }[] };
              const body = {
                checkpoints: [...page.checkpoints, { size: HUGE, note: 'not signed\n' }],
                next: null,
              };
              res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
            },
            () => res.writeHead(500).end(),
          );
          return;
        }
        if (url.pathname.startsWith('/v1/audit/tlog/')) {
          try {
            res.writeHead(200).end(readFileSync(join(replica, url.pathname.slice('/v1/audit/tlog/'.length))));
          } catch {
            res.writeHead(404).end();
          }
          return;
        }
        res.writeHead(404).end();
      });
      const run = await verifyFrom(fake);
      expect(run.code, run.out + run.err).toBe(1);
      expect(run.out).toMatch(
        new RegExp(`FAIL checkpoint at size ${HUGE}: .*\\[AUDIT_CHECKPOINT_SIGNATURE_MISSING\\]`),
      );
      expect(run.out).toMatch(new RegExp(`verified through size ${sizes.at(-1)}`));
      expect(run.out.match(/^FAIL /gm)).toHaveLength(2);

      // A listing that never ends (every page says "next"): cut off at its caps, coded.
      const endless = await serve((req, res) => {
        const from = Number(new URL(req.url ?? '/', 'https://x').searchParams.get('from') ?? 0);
        const checkpoints = Array.from({ length: 100 }, (_, i) => ({ size: from + i, note: 'junk\n' }));
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ checkpoints, next: from + 100 }));
      });
      const verifyEndless = (limits: { maxPages: number; maxCheckpoints: number }) =>
        verifyAuditSource(tlogAuditSource(gatewayTlogReader(endless, { ca }, limits)), keys());
      await expect(verifyEndless({ maxPages: 5, maxCheckpoints: 10_000 })).rejects.toThrow(
        new ReplicaError('REPLICA_UPSTREAM', 'checkpoint listing runs past 5 pages'),
      );
      await expect(verifyEndless({ maxPages: 1_000, maxCheckpoints: 250 })).rejects.toThrow(
        new ReplicaError('REPLICA_UPSTREAM', 'checkpoint listing holds more than 250 checkpoints'),
      );
    });

    it('an ALARM whose file cannot be written still exits 3 with the original code, saying so', async () => {
      const store = await objectStore({ refuseAlarm: true });
      const first = await replicate(store.url);
      expect(first.code, first.err).toBe(0);
      // A fork: the latest checkpoint re-signed with another root (as a compromised gateway would).
      const [row] = await t.gateway.store.query<{ tree_size: string; note: string }>(
        'SELECT tree_size, note FROM audit_checkpoints ORDER BY tree_size DESC LIMIT 1',
      );
      if (row === undefined) throw new Error('no checkpoint');
      const k = loadAuditKeys(t.dataDir, ORIGIN);
      const forged = signNote(
        formatCheckpoint({ origin: ORIGIN, size: Number(row.tree_size), rootHash: randomBytes(32) }),
        [
          { name: ORIGIN, privateKey: k.privateKey },
          { name: ORIGIN, privateKey: k.mlDsaPrivateKey },
        ],
      );
      await t.gateway.store.query('UPDATE audit_checkpoints SET note = $1 WHERE tree_size = $2', [
        forged,
        row.tree_size,
      ]);
      const run = await replicate(store.url);
      await t.gateway.store.query('UPDATE audit_checkpoints SET note = $1 WHERE tree_size = $2', [
        row.note,
        row.tree_size,
      ]);
      expect(run.code, run.err).toBe(3);
      expect(run.err).toMatch(
        /^fleetgate: REPLICA_FORK: gateway checkpoint of size \d+ has another root \(the ALARM file could not be written: REPLICA_UPSTREAM: PUT ALARM answered 507\)$/m,
      );
      expect(store.objects.has('ALARM')).toBe(false);
    });

    it('authenticates an https:// --to with a bearer token from --to-token-env; refuses credentials in --to', async () => {
      const token = `tok-${randomBytes(12).toString('hex')}`;
      const store = await objectStore({ token });
      const ok = await replicate(store.url, ['--to-token-env', 'FG_REPLICA_TOKEN'], {
        FG_REPLICA_TOKEN: token,
      });
      expect(ok.code, ok.err).toBe(0);
      expect(store.objects.get('checkpoint')?.toString()).toBe(
        readFileSync(join(replica, 'checkpoint'), 'utf8'),
      );
      expect(store.unauthorized).toBe(0);
      expect(ok.out + ok.err).not.toContain(token);

      const unset = await replicate(store.url, ['--to-token-env', 'FG_REPLICA_TOKEN']);
      expect(unset.code).toBe(1);
      expect(unset.err).toMatch(
        /^fleetgate: REPLICA_USAGE: environment variable FG_REPLICA_TOKEN is not set$/m,
      );
      const without = await replicate(store.url);
      expect(without.code).toBe(1);
      expect(without.err).toMatch(/^fleetgate: REPLICA_UPSTREAM: GET ALARM answered 401$/m);

      const secret = `pw-${randomBytes(8).toString('hex')}`;
      const before = store.requests;
      const userinfo = await replicate(store.url.replace('https://', `https://ops:${secret}@`));
      expect(userinfo.code).toBe(1);
      expect(userinfo.err).toMatch(/^fleetgate: REPLICA_USAGE: --to must not carry credentials/m);
      expect(userinfo.out + userinfo.err).not.toContain(secret);
      expect(store.requests).toBe(before); // nothing was sent anywhere
      const query = await replicate(`${store.url}?sig=${secret}`);
      expect(query.code).toBe(1);
      expect(query.out + query.err).not.toContain(secret);
    });

    /**
     * A minimal HTTPS object store (GET; PUT honouring If-None-Match: *), optionally requiring a bearer
     * token, or refusing to store ALARM (507 Insufficient Storage).
     */
    async function objectStore(options: { token?: string; refuseAlarm?: boolean }): Promise<{
      url: string;
      objects: Map<string, Buffer>;
      unauthorized: number;
      requests: number;
    }> {
      const state = { url: '', objects: new Map<string, Buffer>(), unauthorized: 0, requests: 0 };
      state.url = `${await serve((req, res) => {
        state.requests += 1;
        if (options.token !== undefined && req.headers.authorization !== `Bearer ${options.token}`) {
          state.unauthorized += 1;
          req.resume();
          res.writeHead(401).end();
          return;
        }
        const path = decodeURIComponent(new URL(req.url ?? '/', 'https://x').pathname).replace(
          /^\/store\//,
          '',
        );
        if (req.method === 'GET') {
          const body = state.objects.get(path);
          res.writeHead(body === undefined ? 404 : 200).end(body);
          return;
        }
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          if (options.refuseAlarm === true && path === 'ALARM') {
            res.writeHead(507).end();
            return;
          }
          if (req.headers['if-none-match'] === '*' && state.objects.has(path)) {
            res.writeHead(412).end();
            return;
          }
          state.objects.set(path, Buffer.concat(chunks));
          res.writeHead(201).end();
        });
      })}/store`;
      return state;
    }
  });
}
