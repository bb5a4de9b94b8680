/**
 * C2SP tlog-checkpoint note text: the spec's example, strict parsing with coded errors, a format/parse
 * round trip property, a fuzz-style property, and the whole chain sign → verify → parse.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toHex } from '../src/bytes.ts';
import { CoreError } from '../src/errors.ts';
import { emptyRoot } from '../src/merkle/hash.ts';
import { formatCheckpoint, parseCheckpoint } from '../src/note/checkpoint.ts';
import { signNote, verifyNote } from '../src/note/signed-note.ts';
import { generateEd25519KeyPair } from '../src/signature/ed25519.ts';
import { coreErrorCode } from './helpers/vectors.ts';

// The example of https://c2sp.org/tlog-checkpoint.
const SPEC_BODY = 'example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n';
const ROOT = 'CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=';

describe('parseCheckpoint', () => {
  it('parses the spec example and formats it back byte for byte', () => {
    const cp = parseCheckpoint(SPEC_BODY);
    expect(cp.origin).toBe('example.com/behind-the-sofa');
    expect(cp.size).toBe(20852163);
    expect(toHex(cp.rootHash)).toBe(Buffer.from(ROOT, 'base64').toString('hex'));
    expect(cp.extensions).toEqual([]);
    expect(formatCheckpoint(cp)).toBe(SPEC_BODY);
  });

  it('keeps extension lines and accepts the empty tree and the largest safe size', () => {
    const text = `log\n0\n${Buffer.from(emptyRoot()).toString('base64')}\next one\n\u2014 two\n`;
    expect(parseCheckpoint(text).extensions).toEqual(['ext one', '\u2014 two']);
    expect(parseCheckpoint(`log\n9007199254740991\n${ROOT}\n`).size).toBe(Number.MAX_SAFE_INTEGER);
    // The spec forbids assuming the origin is a URL: spaces and '+' are accepted when parsing.
    expect(parseCheckpoint(`a log + more\n1\n${ROOT}\n`).origin).toBe('a log + more');
  });

  it.each([
    ['no final newline', `log\n1\n${ROOT}`],
    ['only two lines', 'log\n1\n'],
    ['an empty origin', `\n1\n${ROOT}\n`],
    ['a leading zero', `log\n01\n${ROOT}\n`],
    ['a sign', `log\n+1\n${ROOT}\n`],
    ['a negative size', `log\n-1\n${ROOT}\n`],
    ['an exponent', `log\n1e3\n${ROOT}\n`],
    ['a space in the size', `log\n 1\n${ROOT}\n`],
    ['an empty size', `log\n\n${ROOT}\n`],
    ['a size above 2^53 - 1', `log\n9007199254740992\n${ROOT}\n`],
    ['a root of 31 bytes', `log\n1\n${Buffer.alloc(31).toString('base64')}\n`],
    ['a root of 33 bytes', `log\n1\n${Buffer.alloc(33).toString('base64')}\n`],
    ['unpadded base64', `log\n1\n${ROOT.slice(0, -1)}\n`],
    ['base64url', `log\n1\n${Buffer.from(ROOT, 'base64').toString('base64url')}=\n`],
    ['non-canonical base64', `log\n1\n${ROOT.slice(0, -2)}j=\n`],
    ['an empty root line', 'log\n1\n\n'],
    ['an empty extension line', `log\n1\n${ROOT}\n\n`],
    ['CRLF line endings', `log\r\n1\r\n${ROOT}\r\n`],
    ['a control character', `lo\u0001g\n1\n${ROOT}\n`],
    ['a lone surrogate', `lo\ud800g\n1\n${ROOT}\n`],
    ['more than 1 MiB', `log\n1\n${ROOT}\n${'x'.repeat(1024 * 1024)}\n`],
  ])('refuses %s (CORE_NOTE_MALFORMED)', (_, text) => {
    expect(coreErrorCode(() => parseCheckpoint(text))).toBe('CORE_NOTE_MALFORMED');
  });

  it('fuzz: arbitrary text only ever raises CORE_NOTE_MALFORMED', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (text) => {
        try {
          parseCheckpoint(text);
          return true;
        } catch (error) {
          return error instanceof CoreError && error.code === 'CORE_NOTE_MALFORMED';
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('formatCheckpoint', () => {
  const rootHash = emptyRoot();

  it('refuses what it must not emit (CORE_INVALID_ARGUMENT)', () => {
    const bad: [string, Parameters<typeof formatCheckpoint>[0]][] = [
      ['empty origin', { origin: '', size: 0, rootHash }],
      ['origin with a space', { origin: 'a b', size: 0, rootHash }],
      ['origin with a plus', { origin: 'a+b', size: 0, rootHash }],
      ['origin with a newline', { origin: 'a\nb', size: 0, rootHash }],
      ['negative size', { origin: 'log', size: -1, rootHash }],
      ['fractional size', { origin: 'log', size: 1.5, rootHash }],
      ['unsafe size', { origin: 'log', size: 2 ** 53, rootHash }],
      ['short root', { origin: 'log', size: 0, rootHash: new Uint8Array(31) }],
      ['empty extension', { origin: 'log', size: 0, rootHash, extensions: [''] }],
      ['multi-line extension', { origin: 'log', size: 0, rootHash, extensions: ['a\nb'] }],
      ['extension with a control character', { origin: 'log', size: 0, rootHash, extensions: ['a\tb'] }],
    ];
    for (const [what, input] of bad) {
      expect(
        coreErrorCode(() => formatCheckpoint(input)),
        what,
      ).toBe('CORE_INVALID_ARGUMENT');
    }
  });

  it('round trips through parseCheckpoint (property)', () => {
    const origin = fc
      .string({ unit: 'grapheme', minLength: 1, maxLength: 40 })
      .filter((s) => !/[\s\p{Z}\p{Cc}+]/u.test(s));
    const extension = fc
      .string({ unit: 'grapheme', minLength: 1, maxLength: 30 })
      .map((s) => s.replace(/\p{Cc}/gu, ''))
      .filter((s) => s !== '');
    const arb = fc.record({
      origin,
      size: fc.maxSafeNat(),
      rootHash: fc.uint8Array({ minLength: 32, maxLength: 32 }),
      extensions: fc.array(extension, { maxLength: 3 }),
    });
    fc.assert(
      fc.property(arb, (cp) => {
        const text = formatCheckpoint(cp);
        const parsed = parseCheckpoint(text);
        expect(parsed.origin).toBe(cp.origin);
        expect(parsed.size).toBe(cp.size);
        expect(toHex(parsed.rootHash)).toBe(toHex(cp.rootHash));
        expect(parsed.extensions).toEqual(cp.extensions);
        expect(formatCheckpoint(parsed)).toBe(text);
      }),
      { numRuns: 500 },
    );
  });

  it('signs, verifies and parses as one chain', () => {
    const { privateKey, publicKey } = generateEd25519KeyPair();
    const origin = 'fleetgate.example/audit';
    const body = formatCheckpoint({ origin, size: 42, rootHash });
    const note = signNote(body, [{ name: origin, privateKey }]);
    const { text, verifiedBy } = verifyNote(note, [{ name: origin, publicKey }]);
    expect(verifiedBy).toEqual([origin]);
    expect(parseCheckpoint(text)).toEqual({ origin, size: 42, rootHash, extensions: [] });
  });
});
