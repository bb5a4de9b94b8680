/**
 * C2SP signed notes: byte-for-byte agreement with golang.org/x/mod/sumdb/note, the verifier's five
 * steps (limits, split, signature lines, known keys, at least one verified), and properties: sign/verify round trip, any flipped bit anywhere in a signed note fails, and hostile
 * input only ever produces coded errors.
 */
import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { utf8 } from '../src/bytes.ts';
import { CoreError } from '../src/errors.ts';
import { signNote, verifyNote } from '../src/note/signed-note.ts';
import { encodeVerifierKey, parseVerifierKey } from '../src/note/verifier-key.ts';
import { generateEd25519KeyPair } from '../src/signature/ed25519.ts';
import {
  GO_DOUBLY_SIGNED_NOTE,
  GO_ENOCH_VKEY,
  GO_NOTE,
  GO_PETER_LINE,
  GO_PETER_VKEY,
  GO_TEXT,
  goSignerPrivateKey,
} from './helpers/go-note.ts';
import { coreErrorCode } from './helpers/vectors.ts';

const peter = parseVerifierKey(GO_PETER_VKEY);
const enoch = parseVerifierKey(GO_ENOCH_VKEY);
const log = generateEd25519KeyPair();
const LOG = 'fleetgate.example/audit';

describe('golang.org/x/mod/sumdb/note known answers', () => {
  it('signNote reproduces the Go example note byte for byte', () => {
    expect(signNote(GO_TEXT, [{ name: 'PeterNeumann', privateKey: goSignerPrivateKey() }])).toBe(GO_NOTE);
  });

  it('verifyNote opens the Go note and the doubly-signed one, ignoring unknown keys', () => {
    expect(verifyNote(GO_NOTE, [peter])).toMatchObject({ text: GO_TEXT, verifiedBy: ['PeterNeumann'] });
    expect(verifyNote(GO_DOUBLY_SIGNED_NOTE, [peter, enoch]).verifiedBy).toEqual([
      'PeterNeumann',
      'EnochRoot',
    ]);
    expect(verifyNote(GO_DOUBLY_SIGNED_NOTE, [enoch]).verifiedBy).toEqual(['EnochRoot']);
    expect(verifyNote(utf8(GO_DOUBLY_SIGNED_NOTE), [peter]).verifiedBy).toEqual(['PeterNeumann']);
  });

  it('verifier keys encode and parse as in Go', () => {
    expect(encodeVerifierKey('PeterNeumann', goSignerPrivateKey())).toBe(GO_PETER_VKEY);
    expect(peter.name).toBe('PeterNeumann');
    expect(peter.keyId).toBe('c74f20a3');
    expect(peter.alg).toBe('ed25519');
    expect(encodeVerifierKey(peter.name, peter.publicKey)).toBe(GO_PETER_VKEY);
  });
});

describe('verifyNote refuses', () => {
  const note = signNote('hello\n', [{ name: LOG, privateKey: log.privateKey }]);
  const known = [{ name: LOG, publicKey: log.publicKey }];
  const [text, line] = [note.slice(0, note.indexOf('\n\n') + 1), note.slice(note.indexOf('\n\n') + 2)];

  it('accepts the note it is given, over the exact text', () => {
    expect(verifyNote(note, known)).toMatchObject({ text: 'hello\n', verifiedBy: [LOG] });
  });

  it.each([
    ['no blank line', `${text}${line}`],
    ['no trailing newline', note.slice(0, -1)],
    ['an empty signature block', `${text}\n`],
    ['a hyphen instead of the em dash', note.replace('\u2014', '-')],
    ['an en dash instead of the em dash', note.replace('\u2014', '\u2013')],
    ['no space after the dash', note.replace('\u2014 ', '\u2014')],
    ['a name with a plus', note.replace(`${LOG} `, 'a+b ')],
    ['a name with a no-break space', note.replace(`${LOG} `, 'a\u00a0b ')],
    ['an empty name', note.replace(`${LOG} `, ' ')],
    ['no base64 after the name', note.replace(/ [A-Za-z0-9+/=]+\n$/, ' \n')],
    ['unpadded base64', note.replace(/=\n$/, '\n')],
    ['base64url', note.replace(/ [A-Za-z0-9+/=]+\n$/, ' AAAAAA-_\n')],
    ['a signature shorter than 5 bytes', note.replace(/ [A-Za-z0-9+/=]+\n$/, ' AAAAAA==\n')],
    ['a control character in the text', `hel\tlo\n\n${line}`],
    ['a carriage return', `hello\r\n\n${line}`],
    ['a NUL in the signature block', `${text}\n${line}\u0000\n`],
    ['a lone surrogate', `hel\ud800lo\n\n${line}`],
    ['101 signature lines', `${text}\n${line.repeat(101)}`],
  ])('a note with %s (CORE_NOTE_MALFORMED)', (_, bad) => {
    expect(coreErrorCode(() => verifyNote(bad, known))).toBe('CORE_NOTE_MALFORMED');
  });

  it('a blank line between signatures: the last blank line splits, so the text changes (CORE_NOTE_UNVERIFIED)', () => {
    expect(coreErrorCode(() => verifyNote(`${text}\n${line}\n${line}`, known))).toBe('CORE_NOTE_UNVERIFIED');
  });

  it('invalid UTF-8 bytes and notes over 1 MiB (CORE_NOTE_MALFORMED)', () => {
    const bytes = utf8(note);
    const bad = new Uint8Array([0xff, ...bytes]);
    expect(coreErrorCode(() => verifyNote(bad, known))).toBe('CORE_NOTE_MALFORMED');
    const big = `${'a'.repeat(1024 * 1024)}\n\n${line}`;
    expect(coreErrorCode(() => verifyNote(big, known))).toBe('CORE_NOTE_MALFORMED');
    expect(coreErrorCode(() => verifyNote(utf8(big), known))).toBe('CORE_NOTE_MALFORMED');
    // 600k two-byte characters: under 1 MiB in UTF-16 units, over it in UTF-8.
    expect(coreErrorCode(() => verifyNote(`${'é'.repeat(600_000)}\n\n${line}`, known))).toBe(
      'CORE_NOTE_MALFORMED',
    );
  });

  it('accepts 100 signature lines (all from the known key) and 16 unknown ones', () => {
    expect(verifyNote(`${text}\n${line.repeat(100)}`, known).verifiedBy).toEqual([LOG]);
    const others = Array.from({ length: 16 }, (_, i) =>
      signNote('hello\n', [{ name: `witness${i}`, privateKey: generateEd25519KeyPair().privateKey }]).slice(
        7,
      ),
    ).join('');
    expect(verifyNote(`${text}\n${others}${line}`, known).verifiedBy).toEqual([LOG]);
  });

  it('a note signed only by unknown keys (CORE_NOTE_UNVERIFIED)', () => {
    expect(coreErrorCode(() => verifyNote(note, [peter]))).toBe('CORE_NOTE_UNVERIFIED');
    expect(coreErrorCode(() => verifyNote(note, []))).toBe('CORE_NOTE_UNVERIFIED');
    // Same name, other key: the key ID differs, so the signature is unknown and ignored.
    const other = generateEd25519KeyPair();
    expect(coreErrorCode(() => verifyNote(note, [{ name: LOG, publicKey: other.publicKey }]))).toBe(
      'CORE_NOTE_UNVERIFIED',
    );
  });

  it('a bad signature from a known key, even beside a good one (CORE_NOTE_UNVERIFIED)', () => {
    const forged = signNote('hellO\n', [{ name: LOG, privateKey: log.privateKey }]);
    const forgedLine = forged.slice(forged.indexOf('\n\n') + 2);
    expect(coreErrorCode(() => verifyNote(`${text}\n${forgedLine}`, known))).toBe('CORE_NOTE_UNVERIFIED');
    expect(coreErrorCode(() => verifyNote(`${text}\n${line}${forgedLine}`, known))).toBe(
      'CORE_NOTE_UNVERIFIED',
    );
    expect(
      coreErrorCode(() => verifyNote(`${GO_TEXT}\n${GO_PETER_LINE}${forgedLine}`, [peter, ...known])),
    ).toBe('CORE_NOTE_UNVERIFIED');
  });

  it('ambiguous or invalid verifier lists (CORE_INVALID_ARGUMENT / CORE_INVALID_KEY)', () => {
    expect(coreErrorCode(() => verifyNote(note, [...known, ...known]))).toBe('CORE_INVALID_ARGUMENT');
    expect(coreErrorCode(() => verifyNote(note, [{ name: 'a b', publicKey: log.publicKey }]))).toBe(
      'CORE_INVALID_ARGUMENT',
    );
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    expect(coreErrorCode(() => verifyNote(note, [{ name: LOG, publicKey: ec.publicKey }]))).toBe(
      'CORE_INVALID_KEY',
    );
  });
});

describe('signNote refuses', () => {
  const signer = { name: LOG, privateKey: log.privateKey };

  it.each([
    ['without a final newline', 'hello'],
    ['with a control character', 'a\u0007b\n'],
    ['with a carriage return', 'a\r\n'],
    ['with a lone surrogate', '\udc00\n'],
  ])('text %s (CORE_NOTE_MALFORMED)', (_, text) => {
    expect(coreErrorCode(() => signNote(text, [signer]))).toBe('CORE_NOTE_MALFORMED');
  });

  it('a note that would exceed 1 MiB (CORE_NOTE_MALFORMED)', () => {
    expect(coreErrorCode(() => signNote(`${'a'.repeat(1024 * 1024 - 1)}\n`, [signer]))).toBe(
      'CORE_NOTE_MALFORMED',
    );
  });

  it('bad signer lists and keys', () => {
    expect(coreErrorCode(() => signNote('a\n', []))).toBe('CORE_INVALID_ARGUMENT');
    expect(coreErrorCode(() => signNote('a\n', [{ ...signer, name: '' }]))).toBe('CORE_INVALID_ARGUMENT');
    expect(coreErrorCode(() => signNote('a\n', [{ ...signer, name: 'a+b' }]))).toBe('CORE_INVALID_ARGUMENT');
    expect(coreErrorCode(() => signNote('a\n', [signer, signer]))).toBe('CORE_INVALID_ARGUMENT');
    expect(coreErrorCode(() => signNote('a\n', [{ name: LOG, privateKey: log.publicKey }]))).toBe(
      'CORE_INVALID_KEY',
    );
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    expect(coreErrorCode(() => signNote('a\n', [{ name: LOG, privateKey: ec.privateKey }]))).toBe(
      'CORE_INVALID_KEY',
    );
  });

  it('signs with several keys, each verifiable alone, and keeps blank lines inside the text', () => {
    const witness = generateEd25519KeyPair();
    const text = 'line one\n\nline three\n\n';
    const note = signNote(text, [signer, { name: 'witness.example', privateKey: witness.privateKey }]);
    expect(verifyNote(note, [{ name: LOG, publicKey: log.publicKey }])).toMatchObject({
      text,
      verifiedBy: [LOG],
    });
    expect(verifyNote(note, [{ name: 'witness.example', publicKey: witness.publicKey }]).text).toBe(text);
  });
});

describe('signed-note properties', () => {
  const noteText = fc
    .array(fc.string({ unit: 'grapheme', maxLength: 30 }), { minLength: 1, maxLength: 5 })
    .map((lines) => `${lines.map((l) => l.replace(/\p{Cc}/gu, '')).join('\n')}\n`);
  const keyName = fc
    .string({ unit: 'grapheme', minLength: 1, maxLength: 20 })
    .filter((s) => !/[\s\p{Z}\p{Cc}+]/u.test(s));
  const known = [{ name: LOG, publicKey: log.publicKey }];

  it('sign then verify returns the text and the signer', () => {
    fc.assert(
      fc.property(noteText, keyName, (text, name) => {
        const key = { name, publicKey: log.publicKey };
        const note = signNote(text, [{ name, privateKey: log.privateKey }]);
        expect(verifyNote(note, [key])).toMatchObject({ text, verifiedBy: [name] });
      }),
      { numRuns: 100 },
    );
  });

  it('any single flipped bit, in the body, the separator or the signature line, fails verification', () => {
    const arb = noteText.chain((text) => {
      const bytes = utf8(signNote(text, [{ name: LOG, privateKey: log.privateKey }]));
      return fc.tuple(fc.constant(bytes), fc.nat(bytes.length - 1), fc.nat(7));
    });
    fc.assert(
      fc.property(arb, ([bytes, at, bit]) => {
        const bad = bytes.slice();
        bad[at] = (bad[at] ?? 0) ^ (1 << bit);
        const code = coreErrorCode(() => verifyNote(bad, known));
        expect(['CORE_NOTE_MALFORMED', 'CORE_NOTE_UNVERIFIED']).toContain(code);
      }),
      { numRuns: 1000 },
    );
  });

  it('a flipped byte of the decoded signature (key ID or signature) fails verification', () => {
    fc.assert(
      fc.property(noteText, fc.nat(67), fc.integer({ min: 1, max: 255 }), (text, at, mask) => {
        const note = signNote(text, [{ name: LOG, privateKey: log.privateKey }]);
        const split = note.lastIndexOf('\n\n') + 2;
        const b64 = note.slice(split).split(' ')[2]?.trimEnd() ?? '';
        const raw = Buffer.from(b64, 'base64');
        raw[at] = (raw[at] ?? 0) ^ mask;
        const bad = `${note.slice(0, split)}\u2014 ${LOG} ${raw.toString('base64')}\n`;
        expect(coreErrorCode(() => verifyNote(bad, known))).toBe('CORE_NOTE_UNVERIFIED');
      }),
      { numRuns: 300 },
    );
  });

  it('fuzz: arbitrary strings and bytes only ever raise coded errors', () => {
    const inputs = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 300 }),
      fc.uint8Array({ maxLength: 300 }),
      fc.string({ maxLength: 200 }).map((s) => `${s}\n\n\u2014 ${s} ${Buffer.from(s).toString('base64')}\n`),
    );
    fc.assert(
      fc.property(inputs, (input) => {
        try {
          verifyNote(input, known);
          return false; // nothing random carries our log's signature
        } catch (error) {
          return error instanceof CoreError;
        }
      }),
      { numRuns: 1000 },
    );
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (input) => {
        try {
          parseVerifierKey(input);
          return false;
        } catch (error) {
          return error instanceof CoreError && error.code === 'CORE_INVALID_KEY';
        }
      }),
      { numRuns: 1000 },
    );
  });
});
