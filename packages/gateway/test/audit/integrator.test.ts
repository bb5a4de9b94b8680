/**
 * The integrator (src/audit/integrator.ts; docs/audit.md "Integrator"), on every engine:
 *  - after appends and a checkpoint, every full tile of the sealed range is in audit_tiles without any
 *    read, byte for byte the tile recomputed from the leaves with @fleetgate/core/merkle;
 *  - a backlog (a log written before the integrator) is caught up in bounded rounds, up to level 1;
 *  - property (fast-check, small logs): for random sizes and checkpoint histories, the tiles stored and
 *    the tiles the read API serves equal the tiles recomputed from the leaves, and inclusion and
 *    consistency proofs from them equal core's;
 *  - a tampered tile row is refused: AUDIT_LOG_INCONSISTENT on the proof (proofs are verified against
 *    the signed root), by the function and over HTTP on a real gateway whose integrator wrote the tile.
 */
import { generateKeyPairSync } from 'node:crypto';
import { consistencyProof } from '@fleetgate/core/merkle/consistency';
import { inclusionProof } from '@fleetgate/core/merkle/inclusion';
import { rootFromLeafHashes } from '@fleetgate/core/merkle/root';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../src/audit/event.ts';
import { AuditIntegrator } from '../../src/audit/integrator.ts';
import { AuditLog } from '../../src/audit/log.ts';
import { proveConsistency } from '../../src/audit/read/consistency-proof.ts';
import { proveInclusion } from '../../src/audit/read/inclusion-proof.ts';
import { TileCache } from '../../src/audit/read/tile-cache.ts';
import { readTile } from '../../src/audit/read/tiles.ts';
import type { Store } from '../../src/store/store.ts';
import { closeTestStore, engines, openTestStore } from '../support/engines.ts';
import { startTestGateway, type TestGateway } from '../support/harness.ts';
import { httpsRequest } from '../support/https-client.ts';

const ORIGIN = 'test.fleetgate/integrator';
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

const event = (i: number): AuditEvent => ({
  class: 'tender.decided',
  actor: { kind: 'partner', id: 'acme-tms', certSha256: 'ab'.repeat(32) },
  subject: { kind: 'tender', id: `tnd_integrator_${i}` },
  outcome: 'accepted',
  reasons: ['LANE_SERVED'],
  details: { n: i },
});

/**
 * Entries [from, to) written straight into the store, as a log written before the integrator (or by
 * another node) would hold them; leaf hash SHA-256(0x00 || entry) computed by the database.
 */
async function insertEntries(store: Store, from: number, to: number): Promise<void> {
  await store.query(
    `INSERT INTO audit_entries (idx, leaf_hash, entry)
     SELECT i, sha256('\\x00'::bytea || convert_to(e, 'UTF8')), e
     FROM (SELECT i, '{"n":' || i || ',"v":1}' AS e FROM generate_series($1::int8, $2::int8 - 1) AS i) s`,
    [String(from), String(to)],
  );
}

async function leafHashes(store: Store): Promise<Uint8Array[]> {
  const rows = await store.query<{ leaf_hash: Uint8Array }>(
    'SELECT leaf_hash FROM audit_entries ORDER BY idx',
  );
  return rows.map((r) => new Uint8Array(r.leaf_hash));
}

/** Tile (level, index) of `width` hashes, recomputed from the leaves with core's Merkle math. */
function expectedTile(leaves: readonly Uint8Array[], level: number, index: number, width: number): string {
  const span = 256 ** level;
  const parts: string[] = [];
  for (let i = 0; i < width; i++) {
    const first = (index * 256 + i) * span;
    parts.push(hex(rootFromLeafHashes(leaves.slice(first, first + span))));
  }
  return parts.join('');
}

async function storedTiles(store: Store): Promise<Map<string, string>> {
  const rows = await store.query<{ level: number; idx: string; hashes: Uint8Array }>(
    'SELECT level, idx, hashes FROM audit_tiles ORDER BY level, idx',
  );
  return new Map(rows.map((r) => [`${r.level}/${r.idx}`, hex(r.hashes)]));
}

for (const engine of engines()) {
  describe(`audit integrator on ${engine.name}`, () => {
    let store: Store;
    let schema: string | undefined;
    const ed = generateKeyPairSync('ed25519');
    const ml = generateKeyPairSync('ml-dsa-65');
    const signer = { origin: ORIGIN, privateKey: ed.privateKey, mlDsaPrivateKey: ml.privateKey };

    beforeEach(async () => {
      ({ store, schema } = await openTestStore(engine));
    });
    afterEach(async () => {
      await closeTestStore(engine, store, schema);
    });

    it('writes every full tile when the checkpoint is published, before any read', async () => {
      const log = new AuditLog(store, signer);
      await Promise.all(Array.from({ length: 300 }, (_, i) => log.append(event(i))));
      expect((await log.publish())?.size).toBe(300);
      expect([...(await storedTiles(store)).keys()]).toEqual(['0/0']);
      await Promise.all(Array.from({ length: 500 }, (_, i) => log.append(event(300 + i))));
      expect((await log.publish())?.size).toBe(800);
      const leaves = await leafHashes(store);
      const tiles = await storedTiles(store);
      // 800 entries: three full level-0 tiles; the fourth (32 entries) and level 1 are partial.
      expect([...tiles.keys()]).toEqual(['0/0', '0/1', '0/2']);
      for (let n = 0; n < 3; n++) expect(tiles.get(`0/${n}`)).toBe(expectedTile(leaves, 0, n, 256));
      // No growth, no new tile; the same range integrated again (another node) changes nothing.
      await log.publish();
      const again = new AuditIntegrator(store);
      expect(await again.integrate(800)).toMatchObject({ integrated: 768, behind: false });
      expect(await storedTiles(store)).toEqual(tiles);
    });

    it('catches up a backlog in bounded rounds, up to a full level-1 tile', async () => {
      const size = 65_536 + 300;
      await insertEntries(store, 0, size);
      const integrator = new AuditIntegrator(store, { maxTilesPerRound: 100 });
      expect(await integrator.integrate(size)).toEqual({ tiles: 100, integrated: 25_600, behind: true });
      expect(await integrator.integrate(size)).toEqual({ tiles: 100, integrated: 51_200, behind: true });
      // Round 3: level-0 tiles 200..256 and, once tile 255 is written, the full level-1 tile 0.
      expect(await integrator.integrate(size)).toEqual({ tiles: 58, integrated: 65_792, behind: false });
      expect(await integrator.integrate(size)).toEqual({ tiles: 0, integrated: 65_792, behind: false });
      const leaves = await leafHashes(store);
      const tiles = await storedTiles(store);
      expect(tiles.size).toBe(258);
      expect(tiles.get('1/0')).toBe(expectedTile(leaves, 1, 0, 256));
      for (const n of [0, 137, 255, 256]) expect(tiles.get(`0/${n}`)).toBe(expectedTile(leaves, 0, n, 256));

      // A restart resumes from the store: a hole (a tile never written) is refilled from its first leaf.
      await store.query('DELETE FROM audit_tiles WHERE level = 0 AND idx = 77');
      await insertEntries(store, size, size + 256);
      const restarted = new AuditIntegrator(store, { maxTilesPerRound: 1_000 });
      expect(await restarted.integrate(size + 256)).toMatchObject({ integrated: 66_048, behind: false });
      const after = await storedTiles(store);
      expect(after.get('0/77')).toBe(expectedTile(leaves, 0, 77, 256));
      expect(after.get('0/257')).toBe(expectedTile(await leafHashes(store), 0, 257, 256));

      // The publisher signs over the same leaves; the read API serves proofs from the stored tiles.
      const log = new AuditLog(store, signer);
      const cp = await log.publish();
      expect(cp?.size).toBe(size + 256);
      const all = await leafHashes(store);
      for (const index of [0, 40_000, 65_535, 65_700, size + 255]) {
        const proof = await proveInclusion(store, new TileCache(), { index });
        expect(proof.proof.map(hex)).toEqual(inclusionProof(all, index).map(hex));
      }
    });

    it('property: stored and served tiles equal tiles recomputed from the leaves', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 1_300 }),
          fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 3 }),
          fc.integer({ min: 1, max: 40 }),
          async (size, cuts, roundBound) => {
            await store.exec('TRUNCATE audit_cosignatures, audit_checkpoints, audit_tiles, audit_entries');
            const log = new AuditLog(store, signer);
            // Checkpoints at random sizes on the way to `size`.
            const checkpoints = [
              ...new Set([...cuts.map((c) => Math.max(1, Math.floor(c * size))), size]),
            ].sort((a, b) => a - b);
            let at = 0;
            for (const next of checkpoints) {
              await insertEntries(store, at, next);
              await log.publish();
              at = next;
            }
            // A second integrator with a small bound over the same store: idempotent, catches up.
            const other = new AuditIntegrator(store, { maxTilesPerRound: roundBound });
            let rounds = 1;
            while ((await other.integrate(size)).behind) rounds += 1;
            expect(rounds).toBeLessThanOrEqual(Math.ceil(size / 256 / roundBound) + 1);
            const leaves = await leafHashes(store);
            const stored = await storedTiles(store);
            expect([...stored.keys()]).toEqual(
              Array.from({ length: Math.floor(size / 256) }, (_, n) => `0/${n}`),
            );
            for (const [k, bytes] of stored)
              expect(bytes).toBe(expectedTile(leaves, 0, Number(k.slice(2)), 256));
            // Served (read API, tlog-tiles): every full and partial tile of levels 0 and 1.
            const cache = new TileCache(8);
            for (let level = 0; level <= 1; level++) {
              const hashes = Math.floor(size / 256 ** level);
              for (let n = 0; n * 256 < hashes; n++) {
                const width = Math.min(256, hashes - n * 256);
                const tile = await readTile(store, cache, { level, index: n, width, partial: width < 256 });
                expect(hex(tile)).toBe(expectedTile(leaves, level, n, width));
              }
            }
            const index = Math.floor((cuts[0] ?? 0.5) * (size - 1));
            const proof = await proveInclusion(store, cache, { index });
            expect(proof.proof.map(hex)).toEqual(inclusionProof(leaves, index).map(hex));
            const first = checkpoints[0] as number;
            const consistency = await proveConsistency(store, cache, { size1: first });
            expect(consistency.proof.map(hex)).toEqual(consistencyProof(leaves, first, size).map(hex));
          },
        ),
        { numRuns: 8 },
      );
    }, 120_000);

    it('refuses a proof over a tampered tile row (AUDIT_LOG_INCONSISTENT)', async () => {
      await insertEntries(store, 0, 700);
      const log = new AuditLog(store, signer);
      await log.publish();
      expect((await proveInclusion(store, new TileCache(), { index: 300 })).treeSize).toBe(700);
      // One bit of leaf 300's hash, in tile 0/1 as the integrator stored it.
      await store.query(
        `UPDATE audit_tiles SET hashes = overlay(hashes PLACING decode(lpad(to_hex(get_byte(hashes, 44 * 32) # 1), 2, '0'), 'hex') FROM 44 * 32 + 1 FOR 1)
         WHERE level = 0 AND idx = 1`,
      );
      await expect(proveInclusion(store, new TileCache(), { index: 300 })).rejects.toMatchObject({
        code: 'AUDIT_LOG_INCONSISTENT',
      });
      await expect(proveInclusion(store, new TileCache(), { index: 5 })).rejects.toMatchObject({
        code: 'AUDIT_LOG_INCONSISTENT',
      });
      await expect(
        proveConsistency(store, new TileCache(), { size1: 200, size2: 700 }),
      ).rejects.toMatchObject({
        code: 'AUDIT_LOG_INCONSISTENT',
      });
    });
  });

  describe(`audit integrator in a gateway on ${engine.name}`, () => {
    let t: TestGateway;
    let ca: string;
    beforeAll(async () => {
      t = await startTestGateway(engine, (c) => {
        c.audit.checkpointIntervalMs = 60_000; // this test publishes explicitly
      });
      ca = t.partner('acme-tms').ca;
    });
    afterAll(async () => t?.stop());

    it('serves tiles the integrator wrote, and refuses a proof once one is tampered with', async () => {
      await Promise.all(Array.from({ length: 600 }, (_, i) => t.gateway.audit.append(event(i))));
      const size = (await t.gateway.audit.publish())?.size as number;
      const full = Math.floor(size / 256);
      const stored = await storedTiles(t.gateway.store);
      expect([...stored.keys()]).toEqual(Array.from({ length: full }, (_, n) => `0/${n}`));
      const get = (path: string) => httpsRequest(`${t.url.public}${path}`, { ca });
      // Tile 0/1 as served equals the row the integrator wrote (no read wrote it).
      const served = await fetchBytes(`${t.url.public}/v1/audit/tlog/tile/0/001`, ca);
      expect(hex(served)).toBe(stored.get('0/1'));
      // Tile 0/0 was never read (not in the gateway's LRU): the proof reads the tampered row, and refuses.
      await t.gateway.store.query(
        `UPDATE audit_tiles SET hashes = overlay(hashes PLACING '\\x00000000'::bytea FROM 1 FOR 4) WHERE level = 0 AND idx = 0`,
      );
      const proof = await get('/v1/audit/proof/inclusion?index=0');
      expect([proof.status, proof.json().code]).toEqual([500, 'AUDIT_LOG_INCONSISTENT']);
    });
  });
}

/** GET returning raw bytes (tiles are binary). */
async function fetchBytes(url: string, ca: string): Promise<Uint8Array> {
  const { request } = await import('node:https');
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, agent: false, minVersion: 'TLSv1.3' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        if (res.statusCode !== 200) reject(new Error(`GET ${url}: ${res.statusCode}`));
        else resolve(new Uint8Array(Buffer.concat(chunks)));
      });
    });
    req.on('error', reject);
    req.end();
  });
}
