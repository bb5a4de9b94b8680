/**
 * The audit log replica and the offline verifier end to end, on every engine, with the real CLI:
 * `fleetgate audit replicate` follows a live gateway into a directory (and to an HTTPS PUT object
 * store), writing the C2SP tlog-tiles layout byte for byte as the gateway serves it; `audit verify
 * --from DIR` and `--from URL` pass. Then the bad input of SECURITY-CHECKLIST "Audit log": a checkpoint
 * with one signature stripped (served, or in the replica), a truncated or reordered replica, a rewound
 * log, a fork at the same size and a fork the consistency proof exposes — each detected and coded; an
 * alarm (exit 3) leaves the replica's data unchanged and blocks it until the ALARM file is removed.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { MerkleFrontier } from '@fleetgate/core/merkle/frontier';
import { formatCheckpoint } from '@fleetgate/core/note/checkpoint';
import { signNote } from '@fleetgate/core/note/signed-note';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../src/audit/event.ts';
import { loadAuditKeys } from '../../src/audit/keys.ts';
import { auditReplicateOnce, auditVerify } from '../support/cli.ts';
import { engines } from '../support/engines.ts';
import { startTestGateway, type TestGateway } from '../support/harness.ts';
import { httpsRequest } from '../support/https-client.ts';

const ORIGIN = 'fleetgate.local/audit';
const event = (i: number): AuditEvent => ({
  class: 'tender.decided',
  actor: { kind: 'partner', id: 'acme-tms', certSha256: 'aa'.repeat(32) },
  subject: { kind: 'tender', id: `tnd_replica_${i}` },
  outcome: 'accepted',
  reasons: ['LANE_SERVED'],
  details: { n: i },
});

/** Every file under `dir` (but ALARM) with its SHA-256: to show an alarm changed nothing. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name !== 'ALARM')
        out[relative(dir, p)] = createHash('sha256').update(readFileSync(p)).digest('hex');
    }
  };
  walk(dir);
  return out;
}

/** Rewrites an entry bundle with entries a and b swapped. */
function swapInBundle(bytes: Buffer, a: number, b: number): Buffer {
  const entries: Buffer[] = [];
  for (let at = 0; at < bytes.byteLength; ) {
    const n = bytes.readUInt16BE(at);
    entries.push(bytes.subarray(at, at + 2 + n));
    at += 2 + n;
  }
  [entries[a], entries[b]] = [entries[b] as Buffer, entries[a] as Buffer];
  return Buffer.concat(entries);
}

for (const engine of engines()) {
  describe(`audit replica and offline verifier on ${engine.name}`, () => {
    let t: TestGateway;
    let work: string;
    let replica: string;
    let vkeyFile: string;
    let ca: string;
    let size1: number;
    let size2: number;
    const get = (path: string) => httpsRequest(`${t.url.public}${path}`, { ca });
    const replicate = (to: string, extra: string[] = []) => auditReplicateOnce(t, vkeyFile, to, extra);
    const verifyFrom = (from: string) => auditVerify(t, vkeyFile, from);
    const copy = (name: string): string => {
      const dir = join(work, name);
      cpSync(replica, dir, { recursive: true });
      return dir;
    };
    const db = () => t.gateway.store;
    const latestRow = async () =>
      (
        await db().query<{ tree_size: string; root_hash: Uint8Array; frontier: Uint8Array; note: string }>(
          'SELECT tree_size, root_hash, frontier, note FROM audit_checkpoints ORDER BY tree_size DESC LIMIT 1',
        )
      )[0] as { tree_size: string; root_hash: Uint8Array; frontier: Uint8Array; note: string };
    /**
     * Runs the replica once while the gateway serves `note` as its latest checkpoint, then restores the
     * real one; `before` is the replica as it was, to show that a refusal or an alarm changed nothing.
     */
    const replicateServing = async (
      dir: string,
      latest: Awaited<ReturnType<typeof latestRow>>,
      note: string,
    ) => {
      const serve = (n: string) =>
        db().query('UPDATE audit_checkpoints SET note = $1 WHERE tree_size = $2', [n, latest.tree_size]);
      await serve(note);
      const before = snapshot(dir);
      const run = await replicate(dir);
      await serve(latest.note);
      return { before, run };
    };

    beforeAll(async () => {
      t = await startTestGateway(engine, (c) => {
        c.audit.checkpointIntervalMs = 60_000; // this test publishes explicitly
      });
      ca = readFileSync(t.caPath, 'utf8');
      work = mkdtempSync(join(tmpdir(), 'fleetgate-replica-'));
      replica = join(work, 'replica');
      await Promise.all(Array.from({ length: 300 }, (_, i) => t.gateway.audit.append(event(i))));
      size1 = (await t.gateway.audit.publish())?.size as number;
      vkeyFile = join(work, 'vkey.txt');
      const vkey = await get('/v1/audit/vkey');
      expect(vkey.text).toBe(readFileSync(join(t.dataDir, 'pki', 'audit', 'vkey.txt'), 'utf8'));
      writeFileSync(vkeyFile, vkey.text);
    });
    afterAll(async () => {
      await t?.stop();
      if (work !== undefined) rmSync(work, { recursive: true, force: true });
    });

    it('replicates from a live gateway, append-only, in the tlog-tiles layout the gateway serves', async () => {
      const first = await replicate(replica);
      expect(first.code, first.err).toBe(0);
      expect(first.out).toMatch(new RegExp(`accepted entries 0\\.\\.${size1 - 1}, now at size ${size1}`));
      const before = snapshot(replica);

      await Promise.all(Array.from({ length: 100 }, (_, i) => t.gateway.audit.append(event(300 + i))));
      size2 = (await t.gateway.audit.publish())?.size as number;
      const second = await replicate(replica);
      expect(second.code, second.err).toBe(0);
      expect(second.out).toMatch(new RegExp(`accepted entries ${size1}\\.\\.${size2 - 1}`));
      // Append-only: everything written in the first round is still there, byte for byte (but the
      // two files replaced atomically).
      const after = snapshot(replica);
      for (const [path, hash] of Object.entries(before)) {
        if (path === 'checkpoint' || path === 'replica.json') continue;
        expect(after[path], path).toBe(hash);
      }
      expect(Object.keys(after)).toContain(`checkpoints/${size1}`);
      expect(Object.keys(after)).toContain(`checkpoints/${size2}`);
      // Same bytes as the gateway serves: checkpoint, hash tiles (full and partial), entry bundles.
      const w = size2 - 256;
      for (const path of [
        'checkpoint',
        'tile/0/000',
        `tile/0/001.p/${w}`,
        'tile/entries/000',
        `tile/entries/001.p/${w}`,
        `tile/1/000.p/1`,
      ]) {
        const served = await fetchBytes(`${t.url.public}/v1/audit/tlog/${path}`, ca);
        expect(Buffer.compare(readFileSync(join(replica, path)), served), path).toBe(0);
      }
      const again = await replicate(replica);
      expect(again.code).toBe(0);
      expect(again.out).toMatch(new RegExp(`up to date at size ${size2}`));
    });

    it('pushes the same layout to an HTTPS object store with If-None-Match, checkpoint last', async () => {
      const store = await objectStore(t.dataDir);
      try {
        const run = await replicate(store.url);
        expect(run.code, run.err).toBe(0);
        for (const path of ['checkpoint', 'tile/0/000', 'tile/entries/000', `checkpoints/${size2}`]) {
          expect(
            Buffer.compare(store.objects.get(path) as Buffer, readFileSync(join(replica, path))),
            path,
          ).toBe(0);
        }
        expect([...store.objects.keys()].at(-1)).toBe('checkpoint');
        // A second round: nothing new; a third after new entries never overwrites an immutable object.
        await Promise.all(Array.from({ length: 2 }, (_, i) => t.gateway.audit.append(event(450 + i))));
        await t.gateway.audit.publish();
        const next = await replicate(store.url);
        expect(next.code, next.err).toBe(0);
        expect(store.refused).toEqual([]);
        // An immutable object someone else wrote with other bytes is a conflict, never overwritten, and
        // the checkpoint is not advanced past entries it could not write.
        const held = Number(new TextDecoder().decode(store.objects.get('checkpoint')).split('\n')[1]);
        const squatted = `tile/entries/001.p/${held + 2 - 256}`;
        store.objects.set(squatted, Buffer.from('not a bundle'));
        const checkpointBefore = store.objects.get('checkpoint');
        await Promise.all(Array.from({ length: 2 }, (_, i) => t.gateway.audit.append(event(460 + i))));
        await t.gateway.audit.publish();
        const conflict = await replicate(store.url);
        expect(conflict.code).toBe(1);
        expect(conflict.err).toMatch(
          new RegExp(
            `^fleetgate: REPLICA_CONFLICT: ${squatted.replaceAll('.', '\\.')} exists with other bytes`,
            'm',
          ),
        );
        expect(store.refused).toContain(squatted);
        expect(store.objects.get(squatted)?.toString()).toBe('not a bundle');
        expect(store.objects.get('checkpoint')).toBe(checkpointBefore);
        expect((await replicate(replica)).code).toBe(0);
        size2 = Number((await latestRow()).tree_size); // the later cases use the replica's size
      } finally {
        store.server.close();
      }
    });

    it('verify --from DIR and --from URL pass, checking every checkpoint', async () => {
      const dir = await verifyFrom(replica);
      expect(dir.code, dir.out + dir.err).toBe(0);
      const held = readdirSync(join(replica, 'checkpoints')).length;
      expect(held).toBe(3);
      expect(dir.out).toMatch(
        new RegExp(`${size2} entries, ${held} signed checkpoints, verified through size ${size2}`),
      );
      const url = await verifyFrom(t.url.public);
      expect(url.code, url.out + url.err).toBe(0);
      expect(url.out).toMatch(
        new RegExp(`${size2} entries, \\d+ signed checkpoints, verified through size ${size2}`),
      );
      // The listing the URL source reads, and its limits.
      const page = await get('/v1/audit/checkpoints?from=1&limit=1');
      expect(page.status).toBe(200);
      expect(page.json()).toMatchObject({
        checkpoints: [{ size: expect.any(Number), note: expect.any(String) }],
      });
      expect((await get('/v1/audit/checkpoints?limit=0')).json()).toMatchObject({ code: 'REQUEST_INVALID' });
      expect((await get('/v1/audit/checkpoints?from=01')).json()).toMatchObject({ code: 'REQUEST_INVALID' });
      // Nothing signed is nothing verified.
      const empty = await verifyFrom(join(work, 'no-such-replica'));
      expect(empty.code).toBe(1);
      expect(empty.out).toMatch(/AUDIT_CHECKPOINTS_MISSING/);
    });

    it('a truncated replica fails at the first index it lost', async () => {
      const w = size2 - 256;
      const cut = copy('truncated');
      const path = join(cut, `tile/entries/001.p/${w}`);
      const bytes = readFileSync(path);
      writeFileSync(path, bytes.subarray(0, bytes.byteLength - 5));
      const run = await verifyFrom(cut);
      expect(run.code).toBe(1);
      expect(run.out).toMatch(
        new RegExp(
          `FAIL index ${size2 - 1}: entry bundle 1: entry length runs past the bundle \\[AUDIT_ENTRY_MALFORMED\\]`,
        ),
      );
      expect(run.out).toMatch(
        new RegExp(`FAIL index ${size2 - 1}: entries ${size2 - 1}\\.\\.${size2 - 1} are missing`),
      );

      const gone = copy('bundle-deleted');
      rmSync(join(gone, 'tile/entries/000'));
      const missing = await verifyFrom(gone);
      expect(missing.code).toBe(1);
      expect(missing.out).toMatch(/FAIL index 0: entries 0\.\.255 are missing \[AUDIT_ENTRY_MISSING\]/);
    });

    it('a reordered replica fails at the swapped indices', async () => {
      const dir = copy('reordered');
      const path = join(dir, 'tile/entries/000');
      writeFileSync(path, swapInBundle(readFileSync(path), 41, 42));
      const run = await verifyFrom(dir);
      expect(run.code).toBe(1);
      expect(run.out).toMatch(
        /FAIL index 41: entry does not match its stored leaf hash .*\[AUDIT_ENTRY_HASH_MISMATCH\]/,
      );
      expect(run.out).toMatch(/FAIL index 42: /);
    });

    it('a replica checkpoint with one signature line removed is reported', async () => {
      const dir = copy('stripped');
      const path = join(dir, `checkpoints/${size1}`);
      const lines = readFileSync(path, 'utf8').split('\n');
      writeFileSync(path, `${lines.slice(0, -2).join('\n')}\n`); // drop the ML-DSA-65 line
      const run = await verifyFrom(dir);
      expect(run.code).toBe(1);
      expect(run.out).toMatch(
        new RegExp(
          `FAIL checkpoint at size ${size1}: checkpoint has no ML-DSA-65 signature .*\\[AUDIT_CHECKPOINT_SIGNATURE_MISSING\\]`,
        ),
      );
    });

    it('refuses a served checkpoint with one signature stripped, without alarm or change', async () => {
      const dir = copy('served-stripped');
      await Promise.all(Array.from({ length: 3 }, (_, i) => t.gateway.audit.append(event(400 + i))));
      await t.gateway.audit.publish();
      const latest = await latestRow();
      const lines = latest.note.split('\n');
      const withoutEd = `${[...lines.slice(0, -3), lines.at(-2)].join('\n')}\n`;
      const { before, run } = await replicateServing(dir, latest, withoutEd);
      expect(run.code).toBe(1);
      expect(run.err).toMatch(/^fleetgate: REPLICA_SIGNATURE_MISSING: checkpoint has no Ed25519 signature/m);
      expect(existsSync(join(dir, 'ALARM'))).toBe(false);
      expect(snapshot(dir)).toEqual(before);
      // Restored: the replica catches up.
      const ok = await replicate(dir);
      expect(ok.code, ok.err).toBe(0);
    });

    it('alarms and stops on a rewound log, keeping its data, and refuses to continue', async () => {
      const dir = copy('rewound');
      expect((await replicate(dir)).code).toBe(0); // catch up with the latest checkpoint
      const latest = await latestRow();
      await db().query('DELETE FROM audit_checkpoints WHERE tree_size = $1', [latest.tree_size]);
      const before = snapshot(dir);
      const run = await replicate(dir);
      await db().query(
        'INSERT INTO audit_checkpoints (tree_size, root_hash, frontier, note) VALUES ($1, $2, $3, $4)',
        [latest.tree_size, latest.root_hash, latest.frontier, latest.note],
      );
      expect(run.code).toBe(3);
      expect(run.err).toMatch(
        new RegExp(
          `^fleetgate: REPLICA_REWOUND: gateway checkpoint has \\d+ entries, replica holds ${latest.tree_size}`,
          'm',
        ),
      );
      const alarm = readFileSync(join(dir, 'ALARM'), 'utf8');
      expect(alarm).toContain(latest.note); // held
      expect(alarm).toMatch(/--- checkpoint served by the gateway ---\nfleetgate\.local\/audit\n/);
      expect(snapshot(dir)).toEqual(before);
      const blocked = await replicate(dir);
      expect(blocked.code).toBe(3);
      expect(blocked.err).toMatch(/REPLICA_ALARMED/);
    });

    it('alarms on a fork: the same size signed with another root', async () => {
      const dir = copy('fork-same-size');
      expect((await replicate(dir)).code).toBe(0);
      const latest = await latestRow();
      const keys = loadAuditKeys(t.dataDir, ORIGIN);
      const forged = signNote(
        formatCheckpoint({ origin: ORIGIN, size: Number(latest.tree_size), rootHash: randomBytes(32) }),
        [
          { name: ORIGIN, privateKey: keys.privateKey },
          { name: ORIGIN, privateKey: keys.mlDsaPrivateKey },
        ],
      );
      const { before, run } = await replicateServing(dir, latest, forged);
      expect(run.code).toBe(3);
      expect(run.err).toMatch(/^fleetgate: REPLICA_FORK: gateway checkpoint of size \d+ has another root/m);
      const alarm = readFileSync(join(dir, 'ALARM'), 'utf8');
      expect(alarm).toContain(latest.note);
      expect(alarm).toContain(forged);
      expect(snapshot(dir)).toEqual(before);
    });

    it('alarms on a fork the consistency proof exposes (history rewritten and re-signed with the audit keys)', async () => {
      const dir = copy('fork-history');
      expect((await replicate(dir)).code).toBe(0);
      const held = Number((await latestRow()).tree_size);
      // Rewrite entry 300 (in the partial tile, so no cached full tile hides it) with its leaf hash,
      // append more, drop the checkpoints that would refute it and sign the rewritten tree.
      const forgedEntry = (
        await db().query<{ entry: string }>('SELECT entry FROM audit_entries WHERE idx = 300')
      )[0]?.entry.replace('tnd_', 'TND_') as string;
      const { leafHash } = await import('@fleetgate/core/merkle/hash');
      await db().query('UPDATE audit_entries SET entry = $1, leaf_hash = $2 WHERE idx = 300', [
        forgedEntry,
        leafHash(new TextEncoder().encode(forgedEntry)),
      ]);
      await Promise.all(Array.from({ length: 5 }, (_, i) => t.gateway.audit.append(event(500 + i))));
      const leaves = (
        await db().query<{ leaf_hash: Uint8Array }>('SELECT leaf_hash FROM audit_entries ORDER BY idx')
      ).map((r) => r.leaf_hash);
      const frontier = new MerkleFrontier();
      for (const l of leaves) frontier.append(l);
      const keys = loadAuditKeys(t.dataDir, ORIGIN);
      const note = signNote(
        formatCheckpoint({ origin: ORIGIN, size: frontier.size, rootHash: frontier.root() }),
        [
          { name: ORIGIN, privateKey: keys.privateKey },
          { name: ORIGIN, privateKey: keys.mlDsaPrivateKey },
        ],
      );
      await db().query('DELETE FROM audit_checkpoints WHERE tree_size > 300');
      await db().query(
        'INSERT INTO audit_checkpoints (tree_size, root_hash, frontier, note) VALUES ($1, $2, $3, $4)',
        [String(frontier.size), frontier.root(), Buffer.concat(frontier.hashes()), note],
      );
      expect(frontier.size).toBeGreaterThan(held);
      const before = snapshot(dir);
      const run = await replicate(dir);
      expect(run.code).toBe(3);
      expect(run.err).toMatch(
        new RegExp(
          `^fleetgate: REPLICA_FORK: consistency proof from ${held} to ${frontier.size} does not verify`,
          'm',
        ),
      );
      expect(readFileSync(join(dir, 'ALARM'), 'utf8')).toContain(note);
      expect(snapshot(dir)).toEqual(before);
      // The untouched replica still verifies offline; the rewritten gateway does not.
      expect((await verifyFrom(dir)).code).toBe(0);
    });
  });
}

function fetchBytes(url: string, ca: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    import('node:https').then(({ get }) => {
      get(url, { ca, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(Buffer.concat(chunks)));
        res.on('error', reject);
      }).on('error', reject);
    }, reject);
  });
}

/**
 * A minimal object store over HTTPS (the gateway's server certificate): GET, and PUT honouring
 * `If-None-Match: *` with 412 — what `replicate --to URL` relies on. Counts refused overwrites.
 */
function objectStore(
  dataDir: string,
): Promise<{ server: Server; url: string; objects: Map<string, Buffer>; refused: string[] }> {
  const objects = new Map<string, Buffer>();
  const refused: string[] = [];
  const pki = join(dataDir, 'pki', 'server');
  const server = createServer(
    {
      key: readFileSync(join(pki, 'key.pem')),
      cert: `${readFileSync(join(pki, 'cert.pem'), 'utf8')}${readFileSync(join(pki, 'chain.pem'), 'utf8')}`,
      minVersion: 'TLSv1.3',
    },
    (req, res) => {
      const path = decodeURIComponent(new URL(req.url ?? '/', 'https://x').pathname).replace(
        /^\/store\//,
        '',
      );
      if (req.method === 'GET') {
        const body = objects.get(path);
        res.writeHead(body === undefined ? 404 : 200).end(body);
        return;
      }
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (req.headers['if-none-match'] === '*' && objects.has(path)) {
          refused.push(path);
          res.writeHead(412).end();
          return;
        }
        objects.set(path, Buffer.concat(chunks));
        res.writeHead(201).end();
      });
    },
  );
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      resolve({ server, url: `https://127.0.0.1:${port}/store`, objects, refused });
    }),
  );
}
