/** The EDI error codes in the code and in docs/tendering.md are the same set, in both directions. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EdiError } from '../../src/edi/errors.ts';

const source = readFileSync(join(import.meta.dirname, '../../src/edi/errors.ts'), 'utf8');
const doc = readFileSync(join(import.meta.dirname, '../../../../docs/tendering.md'), 'utf8');

describe('EDI error catalogue', () => {
  it('documents every EdiErrorCode and nothing else', () => {
    const union = source.slice(source.indexOf('export type EdiErrorCode'), source.indexOf('/** Where in'));
    const coded = [...union.matchAll(/\| '(EDI_[A-Z0-9_]+)'/g)].map((m) => m[1]);
    const documented = [...doc.matchAll(/^\| `(EDI_[A-Z0-9_]+)` \|/gm)].map((m) => m[1]);
    expect(coded.length).toBeGreaterThan(20);
    expect(new Set(documented).size).toBe(documented.length);
    expect([...documented].sort()).toEqual([...coded].sort());
  });

  it('names the location but never copies values into its message', () => {
    const e = new EdiError('EDI_UNKNOWN_CODE', 'a code value', { segment: 7, segmentId: 'S5', element: 2 });
    expect(e.message).toBe('a code value (segment S5, at position 7, element 02)');
    const inner = e.within({ functionalId: 'SM' }, { segmentInSet: 4 });
    expect(inner.location).toEqual({ segment: 7, segmentId: 'S5', element: 2, segmentInSet: 4 });
    expect(inner.context).toEqual({ functionalId: 'SM' });
    expect(inner.detail).toBe('a code value');
  });
});
