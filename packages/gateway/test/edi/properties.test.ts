/**
 * Property tests (fast-check) for the tokenizer and the whole reader: any valid delimiter set round-trips
 * (generate → tokenize → validate gives back the same segments), and arbitrary bytes — random, or a valid
 * file with bytes flipped, cut or spliced — only ever produce a value or an EdiError, never another
 * exception.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { replyEnvelope } from '../../src/edi/envelope.ts';
import { EdiError } from '../../src/edi/errors.ts';
import { generateTenderResponse } from '../../src/edi/generate-990.ts';
import { readLoadTenders } from '../../src/edi/parse-204.ts';
import { parseInterchange } from '../../src/edi/parse-interchange.ts';
import { loadTenderToTenderRequest } from '../../src/edi/to-tender-request.ts';
import { tokenizeX12 } from '../../src/edi/tokenize.ts';
import { DRY_VAN_204, fixture, x12 } from './support.ts';

/**
 * Printable ASCII that is not a letter, digit or space: what may serve as a delimiter (less `-`, which
 * the sample 204's identifiers use; a delimiter inside data is refused, tested in generate.test.ts).
 */
const PUNCT = [...'!"#$%&\'()*+,./:;<=>?@[\\]^_`{|}~'];
const CONTROL_DELIMS = ['\x1c', '\x1d', '\x1e', '\x1f', '\x07'];
const terminators = fc.oneof(fc.constantFrom(...PUNCT, ...CONTROL_DELIMS, '\n', '\r\n', '\r', '…', '\x85'));

const delimiterSets = fc
  .record({
    sep: fc.constantFrom(...PUNCT, '\x1c'),
    comp: fc.constantFrom(...PUNCT, '\x1f'),
    rep: fc.constantFrom(...PUNCT),
    term: terminators,
    version: fc.constantFrom('4010' as const, '5010' as const),
    wrap: fc.boolean(),
    bom: fc.boolean(),
  })
  .filter((d) => {
    const singles = [
      d.sep,
      d.comp,
      ...(d.version === '5010' ? [d.rep] : []),
      ...(d.term.length === 1 ? [d.term] : []),
    ];
    return new Set(singles).size === singles.length;
  });

/** Element text that holds none of the delimiters (data never does, by construction). */
const dataChar = fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -./#&'.split(''));

function run(input: Uint8Array | string): unknown {
  try {
    const interchange = parseInterchange(input);
    for (const t of readLoadTenders(interchange)) {
      try {
        loadTenderToTenderRequest(t, { localTimeZone: 'America/Chicago' });
      } catch (e) {
        if (!(e instanceof EdiError)) throw e;
      }
    }
    return interchange;
  } catch (e) {
    if (e instanceof EdiError) return e;
    throw e;
  }
}

describe('tokenizer properties', () => {
  it('round-trips segments for any valid delimiter set, wrapped or not, with or without a BOM', () => {
    fc.assert(
      fc.property(
        delimiterSets,
        fc.array(fc.string({ unit: dataChar, minLength: 1, maxLength: 40 }), { minLength: 1, maxLength: 8 }),
        (d, notes) => {
          const forbidden = [d.sep, d.comp, d.rep, d.term];
          const clean = notes.map(
            (n) =>
              [...n]
                .filter((c) => !forbidden.includes(c))
                .join('')
                .trim() || 'X',
          );
          const body = [
            ...DRY_VAN_204.slice(0, 2),
            ...clean.map((n) => ['NTE', '', n]),
            ...DRY_VAN_204.slice(2),
          ];
          let text = x12(body, {
            sep: d.sep,
            comp: d.comp,
            rep: d.rep,
            term: d.term,
            after: '',
            version: d.version,
          });
          const newlineTerminated = d.term === '\n' || d.term === '\r\n' || d.term === '\r';
          if (d.wrap && !newlineTerminated) text = (text.match(/[\s\S]{1,80}/g) ?? []).join('\r\n');
          const bytes = Buffer.concat([
            Buffer.from(d.bom ? [0xef, 0xbb, 0xbf] : []),
            d.term === '\x85' ? Buffer.from(text, 'latin1') : Buffer.from(text, 'utf8'),
          ]);
          const tokens = tokenizeX12(bytes);
          expect(tokens.hadBom).toBe(d.bom);
          const interchange = parseInterchange(bytes);
          const set = interchange.groups[0]?.transactionSets[0];
          expect(set?.body.map((s) => [s.id, ...s.elements])).toEqual(body);
          const [tender] = readLoadTenders(interchange);
          expect(tender?.notes).toEqual(clean);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('round-trips a generated 990 in any delimiter set', () => {
    fc.assert(
      fc.property(delimiterSets, fc.integer({ min: 1, max: 999_999_999 }), (d, n) => {
        const received = parseInterchange(
          x12(undefined, {
            sep: d.sep,
            comp: d.comp,
            rep: d.rep,
            term: d.term,
            after: '',
            version: d.version,
          }),
        );
        const env = replyEnvelope(
          received,
          received.groups[0] as never,
          { interchange: n, group: n, transactionSet: n },
          new Date(0),
        );
        const out = parseInterchange(
          generateTenderResponse(
            { shipmentId: 'SH-1', scac: 'FGAT', decision: 'accept', decidedAt: new Date(0) },
            env,
          ),
        );
        expect(out.delimiters).toEqual(received.delimiters);
        expect(Number(out.interchangeControlNumber)).toBe(n);
        expect(out.groups[0]?.transactionSets[0]?.controlNumber).toBe(String(n).padStart(4, '0'));
      }),
      { numRuns: 200 },
    );
  });

  it('gives a value or an EdiError for arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), (bytes) => {
        const r = run(bytes);
        expect(r instanceof EdiError || typeof r === 'object').toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('gives a value or an EdiError for a valid file with bytes flipped, cut or spliced', () => {
    const seeds = [
      fixture('204-4010-tilde-newline.edi'),
      fixture('204-5010-bom-wrapped.edi'),
      fixture('204-5010-crlf-hazmat.edi'),
    ];
    fc.assert(
      fc.property(
        fc.constantFrom(...seeds),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
        fc.nat(),
        fc.uint8Array({ maxLength: 40 }),
        (seed, flips, cut, splice) => {
          const b = Buffer.from(seed);
          for (const [at, v] of flips) b[at % b.length] = v;
          const c = cut % (b.length + 1);
          const mutated = Buffer.concat([b.subarray(0, c), Buffer.from(splice), b.subarray(c)]);
          const r = run(mutated);
          expect(r instanceof EdiError || typeof r === 'object').toBe(true);
        },
      ),
      { numRuns: 3000 },
    );
  });
});
