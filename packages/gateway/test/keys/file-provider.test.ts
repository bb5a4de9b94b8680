/**
 * The encrypted local-file key provider (pki/keys/file-provider.ts), checked against outside authorities:
 * signatures verified by the real `openssl dgst`, the key document's shape and mode, and every way the
 * document or its passphrase can be wrong — each a coded PkiError that never contains the passphrase.
 * Property tests: any single-octet change to the authenticated parts of a document is refused as
 * PKI_KEY_UNAVAILABLE (never another error, never a key), and derSignature is exact DER for any r || s.
 */
import { createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PkiError } from '../../src/pki/errors.ts';
import { type FileKeyDocument, parseKeyDocument, readKeyDocument } from '../../src/pki/keys/document.ts';
import {
  createFileCaKey,
  decryptCaKey,
  encryptCaKey,
  openFileCaKey,
} from '../../src/pki/keys/file-provider.ts';
import { derSignature } from '../../src/pki/keys/signer.ts';
import { makeTempDir, openssl } from '../pki/helpers.ts';

const PASSPHRASE = 'correct horse battery staple 42';
const ENV = { FLEETGATE_TEST_PASSPHRASE: PASSPHRASE };

async function codeOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof PkiError)) throw new Error(`expected a PkiError, got ${String(error)}`);
  expect(error.message).not.toContain(PASSPHRASE);
  return error.code;
}

describe('file key provider', () => {
  const tmp = makeTempDir();
  const path = join(tmp.dir, 'key.json');
  let document: FileKeyDocument;

  beforeAll(async () => {
    await createFileCaKey(
      path,
      { passphrase: { env: 'FLEETGATE_TEST_PASSPHRASE' } },
      { dataDir: tmp.dir, env: ENV },
    );
    const loaded = await readKeyDocument(path);
    if (loaded?.document.provider !== 'file') throw new Error('no file document');
    document = loaded.document;
  });
  afterAll(() => tmp.cleanup());

  it('writes a 0600 key document with scrypt ≥ 2^15 (r 8, p 1), AES-256-GCM and no plaintext key', () => {
    expect((statSync(path).mode & 0o777).toString(8)).toBe('600');
    const text = readFileSync(path, 'utf8');
    expect(text).not.toContain('PRIVATE KEY');
    expect(document.kdf).toMatchObject({ name: 'scrypt', r: 8, p: 1 });
    expect(document.kdf.logN).toBeGreaterThanOrEqual(15);
    expect(Buffer.from(document.kdf.salt, 'base64')).toHaveLength(16);
    expect(Buffer.from(document.cipher.iv, 'base64')).toHaveLength(12);
    expect(document.cipher.name).toBe('aes-256-gcm');
    expect(document.passphrase).toEqual({ env: 'FLEETGATE_TEST_PASSPHRASE' }); // where, never what
    expect(text).not.toContain(PASSPHRASE);
  });

  it('signs ECDSA P-256 / SHA-256: P1363 for WebCrypto, DER that openssl dgst verifies', async () => {
    const signer = await openFileCaKey(document, path, { dataDir: tmp.dir, env: ENV });
    expect(signer.custody).toBe('file');
    const data = Buffer.from('fleetgate tbsCertificate stand-in');
    const p1363 = await signer.sign(data);
    expect(p1363).toHaveLength(64);
    expect(verify('sha256', data, { key: signer.publicKey, dsaEncoding: 'ieee-p1363' }, p1363)).toBe(true);
    writeFileSync(join(tmp.dir, 'data.bin'), data);
    writeFileSync(join(tmp.dir, 'sig.der'), derSignature(p1363));
    writeFileSync(join(tmp.dir, 'pub.pem'), signer.publicKey.export({ format: 'pem', type: 'spki' }));
    const result = openssl([
      'dgst',
      '-sha256',
      '-verify',
      join(tmp.dir, 'pub.pem'),
      '-signature',
      join(tmp.dir, 'sig.der'),
      join(tmp.dir, 'data.bin'),
    ]);
    expect(result.stdout.trim()).toBe('Verified OK');
    // The signer exposes no private key: only kind, custody, description, publicKey, sign, close.
    expect(Object.keys(signer).sort()).toEqual([
      'close',
      'custody',
      'description',
      'kind',
      'publicKey',
      'sign',
    ]);
    expect(JSON.stringify(signer)).not.toContain('PRIVATE');
    await signer.close();
    expect(await codeOf(signer.sign(data))).toBe('PKI_KEY_UNAVAILABLE');
  });

  it('a wrong passphrase, a missing variable or a short one is PKI_KEY_UNAVAILABLE, naming the source only', async () => {
    const wrong = { dataDir: tmp.dir, env: { FLEETGATE_TEST_PASSPHRASE: `${PASSPHRASE}!` } };
    expect(await codeOf(openFileCaKey(document, path, wrong))).toBe('PKI_KEY_UNAVAILABLE');
    expect(await codeOf(openFileCaKey(document, path, { dataDir: tmp.dir, env: {} }))).toBe(
      'PKI_KEY_UNAVAILABLE',
    );
    const short = { dataDir: tmp.dir, env: { FLEETGATE_TEST_PASSPHRASE: 'short' } };
    expect(await codeOf(openFileCaKey(document, path, short))).toBe('PKI_KEY_UNAVAILABLE');
    const error = await openFileCaKey(document, path, { dataDir: tmp.dir, env: {} }).catch((e: unknown) => e);
    expect((error as Error).message).toContain('FLEETGATE_TEST_PASSPHRASE');
  });

  it('reads the passphrase from a 0600 file and refuses one that group or others can read', async () => {
    const secret = join(tmp.dir, 'passphrase');
    writeFileSync(secret, `${PASSPHRASE}\n`, { mode: 0o600 });
    const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const encrypted = await encryptCaKey(key, PASSPHRASE, { passphrase: { file: 'passphrase' } });
    const signer = await openFileCaKey(encrypted, 'mem', { dataDir: tmp.dir });
    expect(signer.publicKey.equals(createPublicKey(key))).toBe(true);
    chmodSync(secret, 0o640);
    expect(await codeOf(openFileCaKey(encrypted, 'mem', { dataDir: tmp.dir }))).toBe('PKI_INSECURE_KEY_FILE');
  });

  it('refuses a key document others can read, and never overwrites an existing one', async () => {
    chmodSync(path, 0o644);
    expect(await codeOf(readKeyDocument(path))).toBe('PKI_INSECURE_KEY_FILE');
    chmodSync(path, 0o600);
    const again = createFileCaKey(
      path,
      { passphrase: { env: 'FLEETGATE_TEST_PASSPHRASE' } },
      { dataDir: tmp.dir, env: ENV },
    );
    expect(await codeOf(again)).toBe('PKI_STATE_CONFLICT');
  });

  it('refuses a weakened or malformed document before deriving anything', () => {
    const parse = (mutate: (d: Record<string, unknown>) => void): string => {
      const copy = structuredClone(document) as unknown as Record<string, unknown>;
      mutate(copy);
      try {
        parseKeyDocument(copy, 'test');
        return 'accepted';
      } catch (error) {
        return (error as PkiError).code;
      }
    };
    expect(parse(() => {})).toBe('accepted');
    expect(parse((d) => Object.assign(d.kdf as object, { logN: 14 }))).toBe('PKI_KEY_UNAVAILABLE'); // below 2^15
    expect(parse((d) => Object.assign(d.kdf as object, { logN: 30 }))).toBe('PKI_KEY_UNAVAILABLE'); // memory bomb
    expect(parse((d) => Object.assign(d.kdf as object, { r: 1 }))).toBe('PKI_KEY_UNAVAILABLE');
    expect(parse((d) => Object.assign(d.cipher as object, { name: 'aes-256-cbc' }))).toBe(
      'PKI_KEY_UNAVAILABLE',
    );
    expect(parse((d) => Object.assign(d, { provider: 'plaintext' }))).toBe('PKI_KEY_UNAVAILABLE');
    expect(parse((d) => Object.assign(d, { extra: 1 }))).toBe('PKI_KEY_UNAVAILABLE');
    expect(parse((d) => Object.assign(d, { passphrase: { env: 'x; rm -rf /' } }))).toBe(
      'PKI_KEY_UNAVAILABLE',
    );
    expect(parse((d) => Object.assign(d, { publicKey: 'AAAA' }))).toBe('PKI_KEY_UNAVAILABLE');
  });

  it('a parameter edited within bounds no longer decrypts (every header field is authenticated)', async () => {
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
    const edits: FileKeyDocument[] = [
      { ...document, kdf: { ...document.kdf, logN: 16 } },
      { ...document, publicKey: other.export({ format: 'der', type: 'spki' }).toString('base64') },
    ];
    for (const edited of edits) {
      expect(await codeOf(decryptCaKey(edited, PASSPHRASE, 'test'))).toBe('PKI_KEY_UNAVAILABLE');
    }
  });

  it('property: any one-octet change to salt, IV, tag or ciphertext is refused as PKI_KEY_UNAVAILABLE', async () => {
    const fields = ['salt', 'iv', 'tag', 'ciphertext'] as const;
    const bytesOf = (field: (typeof fields)[number]): Buffer =>
      Buffer.from(
        field === 'salt'
          ? document.kdf.salt
          : field === 'ciphertext'
            ? document.ciphertext
            : document.cipher[field],
        'base64',
      );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...fields),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        async (field, at, xor) => {
          const bytes = bytesOf(field);
          const index = at % bytes.length;
          bytes[index] = (bytes[index] ?? 0) ^ xor;
          const b64 = bytes.toString('base64');
          const mutated: FileKeyDocument =
            field === 'salt'
              ? { ...document, kdf: { ...document.kdf, salt: b64 } }
              : field === 'ciphertext'
                ? { ...document, ciphertext: b64 }
                : { ...document, cipher: { ...document.cipher, [field]: b64 } };
          expect(await codeOf(decryptCaKey(mutated, PASSPHRASE, 'test'))).toBe('PKI_KEY_UNAVAILABLE');
        },
      ),
      { numRuns: 16 }, // each run is one scrypt derivation (~60 ms)
    );
  });
});

/** Minimal DER reader for SEQUENCE { INTEGER, INTEGER }, strict about minimal encoding. */
function readDerSignature(der: Uint8Array): [bigint, bigint] {
  expect(der[0]).toBe(0x30);
  expect(der[1]).toBe(der.length - 2);
  const ints: bigint[] = [];
  let at = 2;
  for (let i = 0; i < 2; i += 1) {
    expect(der[at]).toBe(0x02);
    const length = der[at + 1] ?? 0;
    const body = der.subarray(at + 2, at + 2 + length);
    expect(body.length).toBe(length);
    expect((body[0] ?? 0) & 0x80).toBe(0); // positive
    if (length > 1) expect(body[0] === 0 && ((body[1] ?? 0) & 0x80) === 0).toBe(false); // minimal
    ints.push(BigInt(`0x${Buffer.from(body).toString('hex') || '00'}`));
    at += 2 + length;
  }
  expect(at).toBe(der.length);
  return [ints[0] ?? 0n, ints[1] ?? 0n];
}

describe('derSignature (IEEE P1363 → RFC 3279 DER)', () => {
  it('property: round-trips any r || s exactly, in minimal positive DER', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 64, maxLength: 64 }), (raw) => {
        const [r, s] = readDerSignature(derSignature(raw));
        expect(r).toBe(BigInt(`0x${Buffer.from(raw.subarray(0, 32)).toString('hex')}`));
        expect(s).toBe(BigInt(`0x${Buffer.from(raw.subarray(32)).toString('hex')}`));
      }),
      { numRuns: 500 },
    );
  });

  it('property: node verifies the DER form of real P1363 signatures', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), (data) => {
        const p1363 = sign('sha256', data, { key: privateKey, dsaEncoding: 'ieee-p1363' });
        expect(verify('sha256', data, publicKey, derSignature(p1363))).toBe(true);
      }),
      { numRuns: 100 },
    );
  });

  it('refuses anything but 64 octets', () => {
    expect(() => derSignature(new Uint8Array(63))).toThrow(PkiError);
  });
});
