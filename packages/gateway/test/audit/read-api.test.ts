/**
 * The audit log's read API on a real gateway, on every engine: signed checkpoints verified with BOTH
 * published verifier keys; inclusion proofs (by index and by leaf hash) and consistency proofs verified
 * with @fleetgate/core/merkle against the signed roots; the C2SP tlog-tiles layout fetched by a small
 * client written here, which recomputes the signed root from tiles and entry bundles and builds its own
 * proofs; and bad input (sizes past the tree, reversed sizes, truncated proofs, malformed paths and
 * parameters, a rewound log) each detected with its coded error.
 */
import { consistencyProof, verifyConsistency } from '@fleetgate/core/merkle/consistency';
import { leafHash } from '@fleetgate/core/merkle/hash';
import { inclusionProof, rootFromInclusionProof, verifyInclusion } from '@fleetgate/core/merkle/inclusion';
import { rootFromLeafHashes } from '@fleetgate/core/merkle/root';
import { parseCheckpoint } from '@fleetgate/core/note/checkpoint';
import { verifyNote } from '@fleetgate/core/note/signed-note';
import { parseVerifierKey } from '@fleetgate/core/note/verifier-key';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../src/audit/event.ts';
import { encodeTileIndex } from '../../src/audit/read/tiles.ts';
import { engines } from '../support/engines.ts';
import { startTestGateway, type TestGateway } from '../support/harness.ts';
import { httpsRequest } from '../support/https-client.ts';

const event = (i: number): AuditEvent => ({
  class: 'tender.decided',
  actor: { kind: 'partner', id: 'acme-tms', certSha256: 'cd'.repeat(32) },
  subject: { kind: 'tender', id: `tnd_read_${i}` },
  outcome: 'accepted',
  reasons: ['LANE_SERVED'],
  details: { n: i },
});

const b64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64'));
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

for (const engine of engines()) {
  describe(`audit read API on ${engine.name}`, () => {
    let t: TestGateway;
    let ca: string;
    let vkeys: string[];
    let size1: number;
    let size2: number;
    const get = (path: string) => httpsRequest(`${t.url.public}${path}`, { ca });
    const bytes = (path: string) => fetchBytes(`${t.url.public}${path}`, ca);

    /** Verifies a signed checkpoint with both published keys; returns its size and root. */
    const verifyCheckpoint = (note: string) => {
      const keys = vkeys.map(parseVerifierKey);
      const verified = verifyNote(
        note,
        keys.map((k) => ({ name: k.name, publicKey: k.publicKey })),
      );
      expect(verified.verifiedKeys.map((k) => k.alg).sort()).toEqual(['ed25519', 'ml-dsa-65']);
      return parseCheckpoint(verified.text);
    };

    beforeAll(async () => {
      t = await startTestGateway(engine, (c) => {
        c.audit.checkpointIntervalMs = 60_000; // this test publishes explicitly
        c.audit.maxEntriesPerPage = 300;
      });
      ca = t.partner('acme-tms').ca;
      // Group sequencing: 600 concurrent appends, then a checkpoint; 150 more, another.
      await Promise.all(Array.from({ length: 600 }, (_, i) => t.gateway.audit.append(event(i))));
      size1 = (await t.gateway.audit.publish())?.size as number;
      await Promise.all(Array.from({ length: 150 }, (_, i) => t.gateway.audit.append(event(600 + i))));
      size2 = (await t.gateway.audit.publish())?.size as number;
      expect(size1).toBeGreaterThanOrEqual(600);
      expect(size2).toBe(size1 + 150);
      const vkey = await get('/v1/audit/vkey');
      vkeys = vkey.text.trim().split('\n');
    });
    afterAll(async () => t?.stop());

    it('publishes two verifier keys and a checkpoint signed by both', async () => {
      expect(vkeys).toHaveLength(2);
      expect(vkeys.map((k) => parseVerifierKey(k).alg)).toEqual(['ed25519', 'ml-dsa-65']);
      const cp = await get('/v1/audit/checkpoint');
      expect(cp.status).toBe(200);
      expect(cp.headers['content-type']).toBe('text/plain; charset=utf-8');
      expect(verifyCheckpoint(cp.text).size).toBe(size2);
      expect((await get('/v1/audit/tlog/checkpoint')).text).toBe(cp.text);
    });

    it('serves entries as canonical JSON lines whose hashes lead to the signed root', async () => {
      const leaves: Uint8Array[] = [];
      for (let start = 0; start < size2; start += 300) {
        const page = await get(`/v1/audit/entries?start=${start}&end=${Math.min(start + 300, size2)}`);
        expect(page.status).toBe(200);
        const lines = page.text.split('\n').slice(0, -1);
        for (const line of lines) leaves.push(leafHash(new TextEncoder().encode(line)));
      }
      expect(leaves).toHaveLength(size2);
      const cp = verifyCheckpoint((await get('/v1/audit/checkpoint')).text);
      expect(hex(rootFromLeafHashes(leaves))).toBe(hex(cp.rootHash));
      expect(hex(rootFromLeafHashes(leaves.slice(0, size1)))).toBe(
        hex((await inclusion(`index=0&size=${size1}`)).root),
      );
    });

    const inclusion = async (q: string) => {
      const r = await get(`/v1/audit/proof/inclusion?${q}`);
      expect(r.status, r.text).toBe(200);
      const j = r.json() as {
        index: number;
        treeSize: number;
        leafHash: string;
        proof: string[];
        rootHash: string;
        checkpoint?: string;
      };
      return { ...j, leaf: b64(j.leafHash), path: j.proof.map(b64), root: b64(j.rootHash) };
    };

    it('answers inclusion proofs by index and by leaf hash that verify against the signed checkpoints', async () => {
      for (const size of [size1, size2]) {
        for (const index of [0, 1, 255, 256, 511, size1 - 1, size - 1]) {
          const p = await inclusion(`index=${index}&size=${size}`);
          expect(p.checkpoint).toBeDefined();
          const cp = verifyCheckpoint(p.checkpoint as string);
          expect(cp.size).toBe(size);
          expect(verifyInclusion({ index, size, leafHash: p.leaf, proof: p.path, root: cp.rootHash })).toBe(
            true,
          );
          // A truncated proof is refused by the verifier, with a coded error.
          if (p.path.length > 0) {
            expect(() =>
              rootFromInclusionProof({ index, size, leafHash: p.leaf, proof: p.path.slice(0, -1) }),
            ).toThrow(expect.objectContaining({ code: 'CORE_MERKLE_INVALID_PROOF' }));
          }
        }
      }
      const byIndex = await inclusion('index=300');
      expect(byIndex.treeSize).toBe(size2);
      for (const form of [
        hex(byIndex.leaf),
        encodeURIComponent(Buffer.from(byIndex.leaf).toString('base64')),
      ]) {
        const byHash = await inclusion(`leafHash=${form}`);
        expect(byHash.index).toBe(300);
        expect(byHash.proof).toEqual(byIndex.proof);
      }
      // A size that is not a checkpoint: no checkpoint in the answer, the root still matches the leaves.
      const odd = await inclusion(`index=5&size=${size1 + 7}`);
      expect(odd.checkpoint).toBeUndefined();
      expect(
        verifyInclusion({ index: 5, size: size1 + 7, leafHash: odd.leaf, proof: odd.path, root: odd.root }),
      ).toBe(true);
    });

    it('answers consistency proofs between checkpoints, verified against both signed roots', async () => {
      const r = await get(`/v1/audit/proof/consistency?size1=${size1}&size2=${size2}`);
      expect(r.status, r.text).toBe(200);
      const j = r.json() as { proof: string[]; checkpoint1: string; checkpoint2: string };
      const cp1 = verifyCheckpoint(j.checkpoint1);
      const cp2 = verifyCheckpoint(j.checkpoint2);
      const proof = j.proof.map(b64);
      expect(verifyConsistency({ size1, size2, root1: cp1.rootHash, root2: cp2.rootHash, proof })).toBe(true);
      expect(
        verifyConsistency({ size1, size2, root1: cp1.rootHash, root2: cp2.rootHash, proof: proof.slice(1) }),
      ).toBe(false);
      const same = (await get(`/v1/audit/proof/consistency?size1=${size2}`)).json() as { proof: string[] };
      expect(same.proof).toEqual([]);
    });

    it('serves the C2SP tlog-tiles layout; a client rebuilds the signed root and its own proofs from it', async () => {
      const cp = verifyCheckpoint((await get('/v1/audit/tlog/checkpoint')).text);
      const client = await tileClient((p) => bytes(`/v1/audit/tlog/${p}`), cp.size);
      expect(hex(client.root)).toBe(hex(cp.rootHash));
      // Entry bundles hash to the level-0 tiles.
      expect(client.entries).toHaveLength(cp.size);
      // The client's own proofs equal the server's.
      const server = await inclusion(`index=700&size=${cp.size}`);
      expect(inclusionProof(client.leaves, 700).map(hex)).toEqual(server.path.map(hex));
      expect(consistencyProof(client.leaves, size1, size2).map(hex)).toEqual(
        (
          (await get(`/v1/audit/proof/consistency?size1=${size1}&size2=${size2}`)).json().proof as string[]
        ).map((p) => hex(b64(p))),
      );
      const full = await bytes('/v1/audit/tlog/tile/0/000');
      expect(full.body.byteLength).toBe(8192);
      const level1 = await bytes(`/v1/audit/tlog/tile/1/000.p/${Math.floor(cp.size / 256)}`);
      expect(level1.status).toBe(200);
      const first = full.body;
      const roots: Uint8Array[] = [];
      for (let i = 0; i < 256; i++) roots.push(first.subarray(i * 32, i * 32 + 32));
      expect(hex(level1.body.subarray(0, 32))).toBe(hex(rootFromLeafHashes(roots)));
    });

    it('refuses bad input with coded errors', async () => {
      const code = async (path: string) => {
        const r = await get(path);
        return [r.status, r.status === 200 ? 'OK' : (r.json().code as string)];
      };
      expect(await code(`/v1/audit/proof/inclusion?index=0&size=${size2 + 1}`)).toEqual([
        400,
        'AUDIT_SIZE_PAST_TREE',
      ]);
      expect(await code(`/v1/audit/proof/inclusion?index=${size1}&size=${size1}`)).toEqual([
        400,
        'AUDIT_INDEX_PAST_SIZE',
      ]);
      expect(await code(`/v1/audit/proof/inclusion?index=${size2}`)).toEqual([400, 'AUDIT_INDEX_PAST_SIZE']);
      expect(await code(`/v1/audit/proof/consistency?size1=${size2}&size2=${size1}`)).toEqual([
        400,
        'AUDIT_SIZES_REVERSED',
      ]);
      expect(await code('/v1/audit/proof/consistency?size1=0&size2=5')).toEqual([
        400,
        'AUDIT_SIZES_REVERSED',
      ]);
      expect(await code(`/v1/audit/proof/consistency?size1=1&size2=${size2 + 1}`)).toEqual([
        400,
        'AUDIT_SIZE_PAST_TREE',
      ]);
      expect(await code(`/v1/audit/proof/inclusion?leafHash=${'00'.repeat(32)}`)).toEqual([
        404,
        'AUDIT_LEAF_NOT_FOUND',
      ]);
      expect(await code(`/v1/audit/entries?start=0&end=${size2 + 1}`)).toEqual([400, 'AUDIT_SIZE_PAST_TREE']);
      expect(await code('/v1/audit/entries?start=0&end=301')).toEqual([400, 'REQUEST_INVALID']);
      expect(await code(`/v1/audit/receipt/${size2}`)).toEqual([404, 'AUDIT_ENTRY_NOT_SEALED']);
      expect((await get(`/v1/audit/receipt/${size2}`)).headers['retry-after']).toBe('60');
      for (const q of [
        'index=01',
        'index=-1',
        'index=1e3',
        'index=9007199254740993',
        'index=1&index=2',
        'index=1&leafHash=00',
        'leafHash=zz',
        'index=1&what=1',
        '',
      ]) {
        expect(await code(`/v1/audit/proof/inclusion?${q}`)).toEqual([400, 'REQUEST_INVALID']);
      }
      for (const p of [
        'tile/64/000',
        'tile/01/000',
        'tile/0/0',
        'tile/0/x000/001',
        'tile/0/000.p/0',
        'tile/0/000.p/256',
        'tile/0/000.p/01',
        'tile/0/000/',
        'tile/x/000',
        'tile/0/000.p',
      ]) {
        expect(await code(`/v1/audit/tlog/${p}`)).toEqual([400, 'REQUEST_INVALID']);
      }
      const tiles = Math.floor(size2 / 256);
      expect(await code(`/v1/audit/tlog/tile/0/${encodeTileIndex(tiles)}`)).toEqual([
        404,
        'AUDIT_TILE_NOT_FOUND',
      ]);
      expect(await code(`/v1/audit/tlog/tile/0/${encodeTileIndex(tiles)}.p/${(size2 % 256) + 1}`)).toEqual([
        404,
        'AUDIT_TILE_NOT_FOUND',
      ]);
      expect(await code('/v1/audit/tlog/tile/2/000.p/1')).toEqual([404, 'AUDIT_TILE_NOT_FOUND']);
      expect(await code(`/v1/audit/tlog/tile/entries/${encodeTileIndex(tiles + 1)}`)).toEqual([
        404,
        'AUDIT_TILE_NOT_FOUND',
      ]);
    });

    it('detects a rewound log: the publisher refuses to sign, proofs are refused, a client sees the size shrink', async () => {
      const seen = verifyCheckpoint((await get('/v1/audit/checkpoint')).text);
      // The operator's store is rewound to size1: the tail entries and the newer checkpoint deleted.
      await t.gateway.store.query('DELETE FROM audit_entries WHERE idx >= $1', [String(size1 + 10)]);
      await expect(t.gateway.audit.publish()).rejects.toMatchObject({ code: 'AUDIT_LOG_INCONSISTENT' });
      const proof = await get(`/v1/audit/proof/inclusion?index=${size2 - 1}`);
      expect([proof.status, proof.json().code]).toEqual([500, 'AUDIT_LOG_INCONSISTENT']);
      await t.gateway.store.query('DELETE FROM audit_checkpoints WHERE tree_size > $1', [String(size1)]);
      const now = verifyCheckpoint((await get('/v1/audit/checkpoint')).text);
      // The client's rule: a newer checkpoint must not be smaller, and must be proven consistent.
      expect(now.size).toBeLessThan(seen.size);
      const back = await get(`/v1/audit/proof/consistency?size1=${seen.size}&size2=${now.size}`);
      expect([back.status, back.json().code]).toEqual([400, 'AUDIT_SIZES_REVERSED']);
    });
  });
}

/** GET returning raw bytes (tiles are binary). */
async function fetchBytes(url: string, ca: string): Promise<{ status: number; body: Uint8Array }> {
  const { request } = await import('node:https');
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, agent: false, minVersion: 'TLSv1.3' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: new Uint8Array(Buffer.concat(chunks)) }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * A minimal tlog-tiles client: fetches every level-0 tile and entry bundle of a tree of `size` leaves
 * (full tiles, then the partial one), checks each bundle entry hashes to its tile hash, checks every
 * level-1 hash is the root of its level-0 tile, and returns the leaves and the recomputed root.
 */
async function tileClient(
  fetchTile: (path: string) => Promise<{ status: number; body: Uint8Array }>,
  size: number,
): Promise<{ leaves: Uint8Array[]; entries: string[]; root: Uint8Array }> {
  const leaves: Uint8Array[] = [];
  const entries: string[] = [];
  const full = Math.floor(size / 256);
  const partial = size % 256;
  const paths = (kind: string) => [
    ...Array.from({ length: full }, (_, n) => `tile/${kind}/${encodeTileIndex(n)}`),
    ...(partial > 0 ? [`tile/${kind}/${encodeTileIndex(full)}.p/${partial}`] : []),
  ];
  for (const path of paths('0')) {
    const tile = await fetchTile(path);
    if (tile.status !== 200) throw new Error(`${path}: ${tile.status}`);
    for (let i = 0; i < tile.body.byteLength; i += 32) leaves.push(tile.body.slice(i, i + 32));
  }
  for (const path of paths('entries')) {
    const bundle = await fetchTile(path);
    if (bundle.status !== 200) throw new Error(`${path}: ${bundle.status}`);
    let at = 0;
    const body = Buffer.from(bundle.body);
    while (at < body.byteLength) {
      const length = body.readUInt16BE(at);
      entries.push(body.subarray(at + 2, at + 2 + length).toString('utf8'));
      at += 2 + length;
    }
  }
  entries.forEach((entry, i) => {
    if (hex(leafHash(new TextEncoder().encode(entry))) !== hex(leaves[i] as Uint8Array)) {
      throw new Error(`entry ${i} does not hash to its tile hash`);
    }
  });
  if (full > 0) {
    const level1 = await fetchTile(`tile/1/000.p/${full}`);
    for (let n = 0; n < full; n++) {
      const want = rootFromLeafHashes(leaves.slice(n * 256, n * 256 + 256));
      if (hex(level1.body.subarray(n * 32, n * 32 + 32)) !== hex(want)) throw new Error(`level-1 hash ${n}`);
    }
  }
  return { leaves, entries, root: rootFromLeafHashes(leaves) };
}
