/**
 * The witness (C2SP tlog-witness, tlog-cosignature) on its own: the cosignature/v1 format checked by an
 * independent re-implementation written here with node:crypto only (the spec gives no key to make a
 * known-answer vector from), then the real HTTP server on loopback answering real add-checkpoint
 * requests for a log whose checkpoints are signed here with fresh Ed25519 and ML-DSA-65 keys: first
 * contact, consistent growth, a stale old size (409 with its size), a wrong proof (422), a fork and a
 * rewind, one of the two log signatures stripped, an unknown log, malformed and oversized bodies — and
 * the state surviving a restart. Store-independent: the end-to-end test runs the gateway on both engines.
 */
import {
  createHash,
  generateKeyPairSync,
  type KeyObject,
  sign as nodeSign,
  verify as nodeVerify,
} from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { consistencyProof } from '@fleetgate/core/merkle/consistency';
import { leafHash } from '@fleetgate/core/merkle/hash';
import { rootFromLeafHashes } from '@fleetgate/core/merkle/root';
import { formatCheckpoint } from '@fleetgate/core/note/checkpoint';
import { signNote, verifyNote } from '@fleetgate/core/note/signed-note';
import { encodeVerifierKey } from '@fleetgate/core/note/verifier-key';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAuditReceipt } from '../../src/audit/verify-receipt.ts';
import { formatAddCheckpointBody } from '../../src/audit/witness/add-checkpoint-body.ts';
import {
  cosign,
  encodeWitnessVkey,
  parseWitnessVkey,
  verifyCheckpointCosignature,
  verifyCosignatures,
} from '../../src/audit/witness/cosignature.ts';
import { initWitness, loadWitness } from '../../src/audit/witness/identity.ts';
import { type RunningWitnessServer, startWitnessServer } from '../../src/audit/witness/server.ts';
import { WitnessStateStore } from '../../src/audit/witness/state.ts';
import { Witness, witnessedLogFromVkeys } from '../../src/audit/witness/witness.ts';
import { defaultConfig } from '../../src/config/config.ts';
import { validateConfig } from '../../src/config/validate.ts';

const ORIGIN = 'log.test/audit';

/** A log kept in memory: its leaves, its two keys, and signed checkpoints of any prefix (or a fork). */
class TestLog {
  readonly leaves: Uint8Array[] = [];
  readonly ed = generateKeyPairSync('ed25519');
  readonly ml = generateKeyPairSync('ml-dsa-65');
  readonly vkeys = [
    encodeVerifierKey(ORIGIN, this.ed.publicKey),
    encodeVerifierKey(ORIGIN, this.ml.publicKey),
  ];

  grow(n: number, tag = 'x'): void {
    for (let i = 0; i < n; i++) this.leaves.push(leafHash(Buffer.from(`${tag}-${this.leaves.length}`)));
  }

  body(size: number, leaves = this.leaves): string {
    return formatCheckpoint({ origin: ORIGIN, size, rootHash: rootFromLeafHashes(leaves.slice(0, size)) });
  }

  note(
    size: number,
    leaves = this.leaves,
    keys: KeyObject[] = [this.ed.privateKey, this.ml.privateKey],
  ): string {
    return signNote(
      this.body(size, leaves),
      keys.map((privateKey) => ({ name: ORIGIN, privateKey })),
    );
  }

  proof(from: number, to: number, leaves = this.leaves): Uint8Array[] {
    return from === 0 || from === to ? [] : consistencyProof(leaves, from, to);
  }
}

function post(
  url: string,
  body: string | Buffer,
  headers: Record<string, string> = {},
): Promise<{ status: number; type: string; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}/add-checkpoint`,
      { method: 'POST', headers: { 'content-length': String(Buffer.byteLength(body)), ...headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            type: String(res.headers['content-type'] ?? ''),
            text: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('cosignature/v1 format (independent re-implementation with node:crypto)', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const name = 'witness.test/w1';
  const body = 'example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n';
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(12);

  it('key ID, vkey, timestamp and signed message follow the spec byte for byte', () => {
    const keyId = createHash('sha256')
      .update(Buffer.concat([Buffer.from(`${name}\n`), Buffer.from([0x04]), raw]))
      .digest()
      .subarray(0, 4);
    expect(encodeWitnessVkey(name, publicKey)).toBe(
      `${name}+${keyId.toString('hex')}+${Buffer.concat([Buffer.from([0x04]), raw]).toString('base64')}`,
    );
    const line = cosign(body, name, privateKey, 1679315147n);
    expect(line.startsWith(`\u2014 ${name} `)).toBe(true);
    expect(line.endsWith('\n')).toBe(true);
    const payload = Buffer.from(line.slice(`\u2014 ${name} `.length, -1), 'base64');
    expect(payload.byteLength).toBe(4 + 8 + 64);
    expect(payload.subarray(0, 4).equals(keyId)).toBe(true);
    expect(payload.readBigUInt64BE(4)).toBe(1679315147n);
    const message = Buffer.from(`cosignature/v1\ntime 1679315147\n${body}`);
    expect(nodeVerify(null, message, publicKey, payload.subarray(12))).toBe(true);
    // The same signature over another time line, or another body, does not verify.
    expect(
      nodeVerify(
        null,
        Buffer.from(`cosignature/v1\ntime 1679315148\n${body}`),
        publicKey,
        payload.subarray(12),
      ),
    ).toBe(false);
  });

  it('a line built by hand with node:crypto verifies with verifyCosignatures; altered ones do not', () => {
    const vkey = parseWitnessVkey(encodeWitnessVkey(name, publicKey));
    const ts = Buffer.alloc(8);
    ts.writeBigUInt64BE(1700000000n);
    // node:crypto's one-shot sign, not the code under test.
    const sig = nodeSign(null, Buffer.from(`cosignature/v1\ntime 1700000000\n${body}`), privateKey);
    const keyId = Buffer.from(vkey.keyId, 'hex');
    const line = `\u2014 ${name} ${Buffer.concat([keyId, ts, sig]).toString('base64')}`;
    const ok = verifyCosignatures(body, [line], vkey);
    expect(ok.ok && ok.cosignatures[0]?.timestamp).toBe(1700000000n);
    const flipped = Buffer.concat([keyId, ts, sig]);
    flipped[20] = (flipped[20] as number) ^ 1;
    expect(verifyCosignatures(body, [`\u2014 ${name} ${flipped.toString('base64')}`], vkey)).toEqual({
      ok: false,
      reason: 'invalid',
    });
    expect(verifyCosignatures(body.replace('20852163', '20852164'), [line], vkey)).toEqual({
      ok: false,
      reason: 'invalid',
    });
    // Another witness's line (other key ID) is ignored, not an error.
    const other = generateKeyPairSync('ed25519');
    const otherLine = cosign(body, name, other.privateKey, 1700000000n);
    expect(verifyCosignatures(body, [otherLine], vkey)).toEqual({ ok: false, reason: 'missing' });
    expect(verifyCosignatures(body, [otherLine, line], vkey).ok).toBe(true);
  });

  it('vkeys of another type, a wrong key ID or a bad name are refused', () => {
    const good = encodeWitnessVkey(name, publicKey);
    expect(() => parseWitnessVkey(encodeVerifierKey(name, publicKey))).toThrow(/0x04/); // type 0x01
    const id = good.slice(name.length + 1, name.length + 9);
    const key = good.slice(name.length + 10); // the base64 key may itself contain '+'
    expect(() => parseWitnessVkey(`${name}+${id.replace(/^./, id[0] === '0' ? '1' : '0')}+${key}`)).toThrow(
      /does not match/,
    );
    expect(() => parseWitnessVkey(`other.test/w+${id}+${key}`)).toThrow(/does not match/);
    expect(() => parseWitnessVkey(`bad name+${id}+${key}`)).toThrow();
  });
});

describe('witness add-checkpoint over HTTP', () => {
  let dir: string;
  let log: TestLog;
  let server: RunningWitnessServer;
  let vkey: string;
  const warnings: { code?: string }[] = [];
  const logger = {
    info: () => {},
    warn: (o: object) => warnings.push(o as { code?: string }),
    error: (o: object) => warnings.push(o as { code?: string }),
  };

  const start = async (): Promise<void> => {
    const identity = loadWitness(join(dir, 'state'));
    const witness = new Witness({
      identity,
      logs: [witnessedLogFromVkeys(log.vkeys)],
      state: new WitnessStateStore(join(dir, 'state')),
    });
    server = await startWitnessServer({
      witness,
      host: '127.0.0.1',
      port: 0,
      insecureLoopback: true,
      logger,
      maxBodyBytes: 16 * 1024,
    });
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fleetgate-witness-'));
    vkey = initWitness(join(dir, 'state'), 'witness.test/w1').vkey;
    log = new TestLog();
    await start();
  });
  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const submit = (
    old: number,
    size: number,
    opts: { leaves?: Uint8Array[]; proof?: Uint8Array[]; note?: string } = {},
  ) =>
    post(
      server.url,
      formatAddCheckpointBody(
        old,
        opts.proof ?? log.proof(old, size, opts.leaves),
        opts.note ?? log.note(size, opts.leaves),
      ),
    );

  it('init wrote the key 0600 in a 0700 directory and refuses to replace it', () => {
    expect(statSync(join(dir, 'state', 'key.pem')).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'state')).mode & 0o777).toBe(0o700);
    expect(() => initWitness(join(dir, 'state'), 'witness.test/w1')).toThrow(/never replaced/);
  });

  it('first contact (old 0) is cosigned, and the cosignature verifies with the witness vkey', async () => {
    log.grow(5);
    const note = log.note(5);
    const res = await submit(0, 5, { note });
    expect(res.status).toBe(200);
    const cosigned = note + res.text;
    const check = verifyCheckpointCosignature(cosigned, vkey);
    expect(check.ok).toBe(true);
    if (check.ok) expect(Number(check.cosignature.timestamp)).toBeGreaterThan(1_700_000_000);
    // The log's own verifiers ignore the cosignature line (a signature from an unknown key).
    const verified = verifyNote(cosigned, [
      { name: ORIGIN, publicKey: log.ed.publicKey },
      { name: ORIGIN, publicKey: log.ml.publicKey },
    ]);
    expect(verified.verifiedKeys.map((k) => k.alg).sort()).toEqual(['ed25519', 'ml-dsa-65']);
    expect(readdirSync(join(dir, 'state', 'logs')).filter((f) => f.endsWith('.json'))).toHaveLength(1);
  });

  it('consistent growth is cosigned; the same checkpoint again is cosigned again', async () => {
    log.grow(12);
    expect((await submit(5, 17)).status).toBe(200);
    expect((await submit(17, 17)).status).toBe(200);
  });

  it('a stale old size gets 409 with the witness size as text/x.tlog.size', async () => {
    log.grow(3);
    for (const old of [0, 5, 18]) {
      const res = await submit(old, 20);
      expect(res.status).toBe(409);
      expect(res.type).toBe('text/x.tlog.size');
      expect(res.text).toBe('17\n');
    }
  });

  it('a wrong consistency proof is 422, and the witness does not advance', async () => {
    const proof = log.proof(17, 20);
    const altered = proof.map((h) => h.slice());
    const first = altered[0] as Uint8Array;
    first[0] = (first[0] as number) ^ 1;
    expect((await submit(17, 20, { proof: altered })).status).toBe(422);
    expect((await submit(17, 20, { proof: proof.slice(1) })).status).toBe(422);
    expect((await submit(17, 20, { proof: [...proof, proof[0] as Uint8Array] })).status).toBe(422);
    expect((await submit(0, 20)).text).toBe('17\n');
  });

  it('a fork is refused: another root at the same size (409), or a proof from our root (422)', async () => {
    const forked = [...log.leaves.slice(0, 16), leafHash(Buffer.from('evil')), ...log.leaves.slice(17)];
    const same = await submit(17, 17, { leaves: forked });
    expect(same.status).toBe(409);
    expect(same.text).toBe('17\n');
    // The fork's own consistency proof from 17 does not lead from the root the witness holds.
    expect((await submit(17, 20, { leaves: forked })).status).toBe(422);
  });

  it('a rewind is refused: old above the checkpoint size (400) or a smaller old size (409)', async () => {
    const past = await post(server.url, formatAddCheckpointBody(17, [], log.note(10)));
    expect(past.status).toBe(400);
    expect(past.text).toBe('WITNESS_OLD_SIZE_PAST_CHECKPOINT\n');
    expect((await submit(5, 10)).status).toBe(409);
  });

  it('one of the two log signatures stripped, or a foreign key, is 403', async () => {
    for (const keys of [[log.ed.privateKey], [log.ml.privateKey]]) {
      const res = await submit(17, 20, { note: log.note(20, log.leaves, keys) });
      expect(res.status).toBe(403);
      expect(res.text).toBe('WITNESS_SIGNATURE_MISSING\n');
    }
    const stranger = generateKeyPairSync('ed25519');
    const forged = await submit(17, 20, { note: log.note(20, log.leaves, [stranger.privateKey]) });
    expect(forged.status).toBe(403);
    // A known key's signature that does not verify (the note text altered after signing).
    const note = log.note(20).replace(`\n20\n`, '\n21\n');
    expect((await submit(17, 20, { note })).status).toBe(403);
  });

  it('an unknown origin is 404', async () => {
    const other = signNote(
      formatCheckpoint({ origin: 'other.test/log', size: 1, rootHash: log.leaves[0] as Uint8Array }),
      [{ name: 'other.test/log', privateKey: log.ed.privateKey }],
    );
    const res = await post(server.url, formatAddCheckpointBody(0, [], other));
    expect(res.status).toBe(404);
    expect(res.text).toBe('WITNESS_UNKNOWN_LOG\n');
  });

  it('malformed bodies are 400', async () => {
    const note = log.note(20);
    const proofLine = Buffer.from(log.leaves[0] as Uint8Array).toString('base64');
    const bodies: (string | Buffer)[] = [
      '',
      'old 17\n',
      `old 017\n\n${note}`,
      `old -1\n\n${note}`,
      `old 1e3\n\n${note}`,
      `old 9007199254740993\n\n${note}`,
      `new 17\n\n${note}`,
      `old 17\n${proofLine.slice(0, -2)}\n\n${note}`,
      `old 17\n${proofLine}x\n\n${note}`,
      `old 17\n${`${proofLine}\n`.repeat(64)}\n${note}`,
      `old 0\n${proofLine}\n\n${note}`,
      'old 17\n\nnot a checkpoint\n',
      `old 17\n\n${note.split('\n\n')[0]}\n`,
      `old 17\n\n${note.replace('\u2014', '-')}`,
      Buffer.concat([Buffer.from('old 17\n\n'), Buffer.from([0xff, 0xfe]), Buffer.from(note)]),
    ];
    for (const body of bodies) {
      const res = await post(server.url, body);
      expect({ body: String(body).slice(0, 40), status: res.status }).toEqual({
        body: String(body).slice(0, 40),
        status: 400,
      });
    }
  });

  it('an oversized body is 413, by Content-Length and by a longer stream; other methods and paths too', async () => {
    const big = `old 17\n\n${'a'.repeat(17 * 1024)}`;
    const res = await post(server.url, big);
    expect(res.status).toBe(413);
    expect(res.text).toBe('WITNESS_BODY_TOO_LARGE\n');
    const get = await new Promise<number>((resolve, reject) => {
      request(`${server.url}/add-checkpoint`, (r) => {
        r.resume();
        resolve(r.statusCode ?? 0);
      })
        .on('error', reject)
        .end();
    });
    expect(get).toBe(405);
    const wrongPath = await new Promise<number>((resolve, reject) => {
      request(`${server.url}/checkpoint`, { method: 'POST' }, (r) => {
        r.resume();
        resolve(r.statusCode ?? 0);
      })
        .on('error', reject)
        .end('x');
    });
    expect(wrongPath).toBe(404);
  });

  it('every refusal was logged with its code', () => {
    const codes = new Set(warnings.map((w) => w.code));
    for (const code of [
      'WITNESS_OLD_SIZE_MISMATCH',
      'WITNESS_PROOF_INVALID',
      'WITNESS_ROOT_MISMATCH',
      'WITNESS_OLD_SIZE_PAST_CHECKPOINT',
      'WITNESS_SIGNATURE_MISSING',
      'WITNESS_SIGNATURE_INVALID',
      'WITNESS_UNKNOWN_LOG',
      'WITNESS_BODY_MALFORMED',
      'WITNESS_BODY_TOO_LARGE',
    ]) {
      expect(codes.has(code as never), code).toBe(true);
    }
    expect(JSON.stringify(warnings)).not.toMatch(/PRIVATE|\u2014/);
  });

  it('concurrent requests from the same old size: exactly one advances the witness', async () => {
    log.grow(10); // 30 leaves
    const results = await Promise.all([submit(17, 25), submit(17, 30), submit(17, 22)]);
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 409, 409]);
  });

  it('the state survives a restart: the witness still holds the size it cosigned', async () => {
    const [held] = (await submit(0, 30)).text.split('\n');
    await server.close();
    await start();
    const res = await submit(0, 30);
    expect(res.status).toBe(409);
    expect(res.text).toBe(`${held}\n`);
    expect((await submit(Number(held), 30)).status).toBe(200);
  });

  it('the receipt verifier still accepts a checkpoint carrying a cosignature line', () => {
    // A one-leaf tree: the receipt's proof is empty and its entry hashes to the root.
    const entry = '{"n":1}';
    const leaf = leafHash(Buffer.from(entry));
    const body = formatCheckpoint({ origin: ORIGIN, size: 1, rootHash: leaf });
    const note = signNote(body, [
      { name: ORIGIN, privateKey: log.ed.privateKey },
      { name: ORIGIN, privateKey: log.ml.privateKey },
    ]);
    const witnessKey = generateKeyPairSync('ed25519');
    const cosigned = note + cosign(body, 'witness.test/w9', witnessKey.privateKey, 1_700_000_000n);
    const receipt = {
      origin: ORIGIN,
      index: 0,
      treeSize: 1,
      entry,
      leafHash: Buffer.from(leaf).toString('base64'),
      proof: [],
      checkpoint: cosigned,
    };
    expect(verifyAuditReceipt(receipt, log.vkeys)).toMatchObject({ ok: true, index: 0 });
    // Requiring the witness: present and valid passes; absent, altered, or another witness fails.
    const w9 = encodeWitnessVkey('witness.test/w9', witnessKey.publicKey);
    expect(verifyAuditReceipt(receipt, log.vkeys, { requireWitnesses: [w9] })).toMatchObject({ ok: true });
    expect(
      verifyAuditReceipt({ ...receipt, checkpoint: note }, log.vkeys, { requireWitnesses: [w9] }),
    ).toMatchObject({
      ok: false,
      code: 'RECEIPT_WITNESS_MISSING',
    });
    const cosigLine = cosigned.slice(note.length);
    const payload = Buffer.from(cosigLine.slice('\u2014 witness.test/w9 '.length, -1), 'base64');
    payload[30] = (payload[30] as number) ^ 1;
    const altered = `${note}\u2014 witness.test/w9 ${payload.toString('base64')}\n`;
    expect(
      verifyAuditReceipt({ ...receipt, checkpoint: altered }, log.vkeys, { requireWitnesses: [w9] }),
    ).toMatchObject({
      ok: false,
      code: 'RECEIPT_WITNESS_INVALID',
    });
    const other = encodeWitnessVkey('witness.test/w9', generateKeyPairSync('ed25519').publicKey);
    expect(verifyAuditReceipt(receipt, log.vkeys, { requireWitnesses: [w9, other] })).toMatchObject({
      ok: false,
      code: 'RECEIPT_WITNESS_MISSING',
    });
    expect(
      verifyCheckpointCosignature(cosigned, encodeWitnessVkey('witness.test/w9', witnessKey.publicKey)).ok,
    ).toBe(true);
    expect(
      verifyCheckpointCosignature(note, encodeWitnessVkey('witness.test/w9', witnessKey.publicKey)),
    ).toEqual({
      ok: false,
      reason: 'missing',
    });
  });
});

describe('audit.witnesses configuration', () => {
  const key = generateKeyPairSync('ed25519').publicKey;
  const vkey = encodeWitnessVkey('witness.test/w1', key);
  const withWitnesses = (witnesses: unknown[]): unknown => {
    const doc = JSON.parse(JSON.stringify(defaultConfig())) as { audit: Record<string, unknown> };
    doc.audit.witnesses = witnesses;
    return doc;
  };

  it('defaults to none and accepts a cosignature/v1 vkey with https, or http on loopback', () => {
    expect(defaultConfig().audit.witnesses).toEqual([]);
    const ok = [
      { name: 'witness.test/w1', url: 'https://witness.example:8443/prefix', vkey, caFile: 'witness-ca.pem' },
    ];
    expect(validateConfig(withWitnesses(ok)).audit.witnesses).toEqual(ok);
    const loop = [{ name: 'witness.test/w1', url: 'http://127.0.0.1:7380', vkey }];
    expect(validateConfig(withWitnesses(loop)).audit.witnesses).toEqual(loop);
  });

  it.each([
    ['plain http off loopback', { name: 'witness.test/w1', url: 'http://witness.example', vkey }, /url/],
    [
      'a log (0x01) vkey',
      { name: 'witness.test/w1', url: 'https://w.example', vkey: encodeVerifierKey('witness.test/w1', key) },
      /cosignature\/v1/,
    ],
    [
      'a vkey of another name',
      { name: 'witness.test/w2', url: 'https://w.example', vkey },
      /names another witness/,
    ],
    ['an unknown key', { name: 'witness.test/w1', url: 'https://w.example', vkey, extra: 1 }, /unknown key/],
  ])('refuses %s', (_name, witness, message) => {
    expect(() => validateConfig(withWitnesses([witness]))).toThrow(message);
  });

  it('refuses two witnesses of one name', () => {
    const w = { name: 'witness.test/w1', url: 'https://w.example', vkey };
    expect(() => validateConfig(withWitnesses([w, w]))).toThrow(/unique/);
  });
});
