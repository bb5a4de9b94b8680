/**
 * ML-DSA-65 in C2SP signed notes (0xff || "fleetgate.dev/ml-dsa-65/v1", src/note/internal/note-key.ts):
 * the key-ID rule recomputed independently, verifier keys round trip and refuse look-alikes, a note
 * signed by Ed25519 and ML-DSA-65 reports both keys, a stripped or altered ML-DSA-65 signature is
 * detected, and a verifier that knows only the Ed25519 key (as Go's sumdb/note would) ignores the
 * ML-DSA-65 line, as the spec requires.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { signNote, verifyNote } from '../src/note/signed-note.ts';
import { encodeVerifierKey, parseVerifierKey } from '../src/note/verifier-key.ts';
import { generateEd25519KeyPair } from '../src/signature/ed25519.ts';
import { generateMlDsa65KeyPair, mlDsa65PublicKeyToRaw } from '../src/signature/ml-dsa-65.ts';
import { coreErrorCode } from './helpers/vectors.ts';

const LOG = 'fleetgate.example/audit';
const TYPE_ID = 'fleetgate.dev/ml-dsa-65/v1';
const ed = generateEd25519KeyPair();
const ml = generateMlDsa65KeyPair();
const TEXT = 'fleetgate.example/audit\n42\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n';
const note = signNote(TEXT, [
  { name: LOG, privateKey: ed.privateKey },
  { name: LOG, privateKey: ml.privateKey },
]);
const verifiers = [
  { name: LOG, publicKey: ed.publicKey },
  { name: LOG, publicKey: ml.publicKey },
];

describe('ML-DSA-65 note keys', () => {
  it('computes the key ID as SHA-256(name || 0x0A || 0xff || identifier || key)[:4]', () => {
    const raw = mlDsa65PublicKeyToRaw(ml.publicKey);
    const expected = createHash('sha256')
      .update(LOG)
      .update(Buffer.from([0x0a, 0xff]))
      .update(TYPE_ID)
      .update(raw)
      .digest()
      .subarray(0, 4)
      .toString('hex');
    const vkey = encodeVerifierKey(LOG, ml.publicKey);
    expect(vkey.split('+')[1]).toBe(expected);
    const encoded = Buffer.from(vkey.slice(vkey.indexOf('+', LOG.length + 1) + 1), 'base64');
    expect(encoded[0]).toBe(0xff);
    expect(encoded.subarray(1, 1 + TYPE_ID.length).toString('latin1')).toBe(TYPE_ID);
    expect(encoded.byteLength).toBe(1 + TYPE_ID.length + 1952);
    const parsed = parseVerifierKey(vkey);
    expect(parsed).toMatchObject({ alg: 'ml-dsa-65', name: LOG, keyId: expected });
    expect(parsed.publicKey.equals(ml.publicKey)).toBe(true);
    // The same name with the Ed25519 key has a different ID: the type is inside the hash.
    expect(encodeVerifierKey(LOG, ed.publicKey).split('+')[1]).not.toBe(expected);
  });

  it('refuses verifier keys with another identifier or key length (CORE_INVALID_KEY)', () => {
    const vkey = encodeVerifierKey(LOG, ml.publicKey);
    const [name, id, key64] = [LOG, vkey.split('+')[1], vkey.slice(vkey.indexOf('+', LOG.length + 1) + 1)];
    const bytes = Buffer.from(key64, 'base64');
    const otherId = Buffer.from(bytes);
    otherId[5] = otherId[5] === 0x41 ? 0x42 : 0x41;
    for (const encoded of [otherId, bytes.subarray(0, -1), Buffer.concat([bytes, Buffer.from([0])])]) {
      expect(coreErrorCode(() => parseVerifierKey(`${name}+${id}+${encoded.toString('base64')}`))).toBe(
        'CORE_INVALID_KEY',
      );
    }
  });

  it('a note signed with both keys reports both; Ed25519-only verifiers ignore the ML-DSA-65 line', () => {
    const lines = note.split('\n').filter((l) => l.startsWith('\u2014 '));
    expect(lines).toHaveLength(2);
    const verified = verifyNote(note, verifiers);
    expect(verified.text).toBe(TEXT);
    expect(verified.verifiedKeys.map((k) => k.alg)).toEqual(['ed25519', 'ml-dsa-65']);
    expect(verifyNote(note, [verifiers[0] as (typeof verifiers)[0]]).verifiedKeys).toHaveLength(1);
    expect(verifyNote(note, [verifiers[1] as (typeof verifiers)[0]]).verifiedKeys[0]?.alg).toBe('ml-dsa-65');
  });

  it('a stripped ML-DSA-65 signature is visible in verifiedKeys; an altered one fails the note', () => {
    const stripped = note.split('\n').slice(0, -2).join('\n').concat('\n');
    expect(verifyNote(stripped, verifiers).verifiedKeys.map((k) => k.alg)).toEqual(['ed25519']);
    expect(coreErrorCode(() => verifyNote(stripped, [verifiers[1] as (typeof verifiers)[0]]))).toBe(
      'CORE_NOTE_UNVERIFIED',
    );
    const last = note.split('\n').at(-2) as string;
    const sig = Buffer.from(last.slice(last.lastIndexOf(' ') + 1), 'base64');
    fc.assert(
      fc.property(
        fc.integer({ min: 4, max: sig.byteLength - 1 }),
        fc.integer({ min: 0, max: 7 }),
        (i, bit) => {
          const changed = Buffer.from(sig);
          changed[i] = (changed[i] as number) ^ (1 << bit);
          const forged = note.replace(
            last,
            `${last.slice(0, last.lastIndexOf(' ') + 1)}${changed.toString('base64')}`,
          );
          expect(coreErrorCode(() => verifyNote(forged, verifiers))).toBe('CORE_NOTE_UNVERIFIED');
        },
      ),
      { numRuns: 25 },
    );
  });
});
