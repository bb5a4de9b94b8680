/** Test-only builders of X12 text: an envelope around segment lists, with any delimiters. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Build {
  sep?: string;
  comp?: string;
  rep?: string;
  term?: string;
  after?: string;
  version?: '4010' | '5010';
  gs08?: string;
  st03?: string;
  usage?: 'P' | 'T';
  /** ISA06 and GS02; default ACMETMS. */
  sender?: string;
  /** ISA08; default FLEETGATE. */
  receiver?: string;
  /** ISA09/ISA10 and GS04/GS05, in UTC; default 2026-11-30 14:05. */
  at?: Date;
  /** ISA13 (and IEA02); default 000000101. */
  icn?: string;
  /** GS06 (and GE02); default 101. */
  group?: string;
  setId?: string;
  functionalId?: string;
  /** Overrides for trailers, to break them on purpose. */
  se01?: string;
  se02?: string;
  ge01?: string;
  ge02?: string;
  iea01?: string;
  iea02?: string;
}

export const fixture = (name: string): Buffer =>
  readFileSync(join(import.meta.dirname, '../fixtures/edi', name));

const pad = (n: number, w = 2) => String(n).padStart(w, '0');
/** CCYYMMDD and HHMM of an instant in UTC. */
export const ymd = (d: Date) => `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}`;
export const hm = (d: Date) => `${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}`;
const DEFAULT_AT = new Date(Date.UTC(2026, 10, 30, 14, 5));

export function isaSegment(o: Build = {}): string {
  const v = o.version ?? '4010';
  const at = o.at ?? DEFAULT_AT;
  return [
    'ISA',
    '00',
    ' '.repeat(10),
    '00',
    ' '.repeat(10),
    'ZZ',
    (o.sender ?? 'ACMETMS').padEnd(15),
    'ZZ',
    (o.receiver ?? 'FLEETGATE').padEnd(15),
    ymd(at).slice(2),
    hm(at),
    v === '5010' ? (o.rep ?? '^') : 'U',
    v === '5010' ? '00501' : '00401',
    o.icn ?? '000000101',
    '0',
    o.usage ?? 'P',
    o.comp ?? '>',
  ].join(o.sep ?? '*');
}

export const DRY_VAN_204: string[][] = [
  ['B2', '', 'FGAT', '', 'SH-1', '', 'PP'],
  ['B2A', '00', 'LT'],
  ['N7', '', 'TRL-1', '', '', '', '', '', '', '', '', 'TL'],
  ['S5', '1', 'LD', '40000', 'L'],
  ['G62', '37', '20261201', 'I', '0800', 'UT'],
  ['G62', '38', '20261201', 'K', '1200', 'UT'],
  ['N1', 'SF', 'ACME', '93', 'D1'],
  ['N4', 'DALLAS', 'TX', '75201', 'US'],
  ['S5', '2', 'UL', '40000', 'L'],
  ['G62', '54', '20261201', 'L', '2000', 'UT'],
  ['N1', 'ST', 'ACME', '93', 'H1'],
  ['N4', 'HOUSTON', 'TX', '77002', 'US'],
];

export function x12(body: string[][] = DRY_VAN_204, o: Build = {}): string {
  const sep = o.sep ?? '*';
  const term = o.term ?? '~';
  const after = o.after ?? '\n';
  const v = o.version ?? '4010';
  const gs08 = o.gs08 ?? (v === '5010' ? '005010' : '004010');
  const setId = o.setId ?? '204';
  const at = o.at ?? DEFAULT_AT;
  const group = o.group ?? '101';
  const st = ['ST', setId, '0001', ...(o.st03 === undefined ? [] : [o.st03])];
  const segs = [
    isaSegment(o),
    [
      'GS',
      o.functionalId ?? 'SM',
      o.sender ?? 'ACMETMS',
      'FLEETGATE',
      ymd(at),
      hm(at),
      group,
      'X',
      gs08,
    ].join(sep),
    st.join(sep),
    ...body.map((s) => s.join(sep)),
    ['SE', o.se01 ?? String(body.length + 2), o.se02 ?? '0001'].join(sep),
    ['GE', o.ge01 ?? '1', o.ge02 ?? group].join(sep),
    ['IEA', o.iea01 ?? '1', o.iea02 ?? o.icn ?? '000000101'].join(sep),
  ];
  return segs.map((s) => s + term + after).join('');
}
