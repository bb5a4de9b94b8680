/**
 * EDI X12 204 parsing (packages/gateway/src/edi, issue 6): 204 files parsed per second, one thread —
 * tokenize, strict envelope validation, the 204 reader and the mapping to a tender request — over the
 * repository's sample files (test/fixtures/edi: 4010 and 5010, `~`+LF, LF, CRLF, 0x1D, 0x85, a BOM and
 * 80-column wrapping) and over a 40-stop 204 built here.
 *
 * Limit, measured in the same run on the same bytes: the least any reader must do — decode the bytes as
 * latin1 and split them on the segment terminator (`String#split`). The ratio is what tolerance,
 * validation and typing cost on top of finding the segments.
 * Figures go to stdout; the last line is `BENCH_RESULT {json}` for bench/run-all.js.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readLoadTenders } from '@fleetgate/gateway/edi/parse-204';
import { parseInterchange } from '@fleetgate/gateway/edi/parse-interchange';
import { loadTenderToTenderRequest } from '@fleetgate/gateway/edi/to-tender-request';
import { type BenchRow, formatNumber, formatRatio } from './lib/result.ts';
import { runBenchmark } from './lib/runner.ts';
import { median, rateOfSync, roundRatios } from './lib/stats.ts';

const ROUNDS = 3;
const WARMUP_MS = 300;
const MEASURE_MS = 700;
const STOPS = 40;

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '../packages/gateway/test/fixtures/edi');

/** A large but ordinary multi-stop 204 (4010, `~` + LF): STOPS stops, each with dates and an address. */
function multiStop(): Buffer {
  const seg = (...e: string[]) => `${e.join('*')}~\n`;
  let body = seg('B2', '', 'FGAT', '', 'MS-1', '', 'PP') + seg('B2A', '00', 'LT') + seg('L11', 'PO-9', 'PO');
  body += seg('N7', '', 'TRL-9', '', '', '', '', '', '', '', '', 'TL');
  for (let i = 1; i <= STOPS; i += 1) {
    const kind = i === 1 ? 'LD' : i === STOPS ? 'UL' : i % 2 === 0 ? 'PL' : 'PU';
    body += seg('S5', String(i), kind, '1000', 'L');
    const delivers = kind === 'UL' || kind === 'PU';
    if (delivers) body += seg('G62', '54', '20261202', 'L', '2000', 'CT');
    else
      body +=
        seg('G62', '37', '20261201', 'I', '0800', 'CT') + seg('G62', '38', '20261201', 'K', '1200', 'CT');
    body += seg('N1', delivers ? 'ST' : 'SF', `STOP ${i}`, '93', `S${i}`);
    body += seg('N3', `${i} MAIN ST`);
    body += seg('N4', i % 2 === 0 ? 'DALLAS' : 'HOUSTON', 'TX', '75201', 'US');
  }
  body += seg('L3', '40000', 'G');
  const count = body.split('~').length - 1 + 2;
  const isa =
    'ISA*00*          *00*          *ZZ*ACMETMS        *ZZ*FLEETGATE      *261130*1405*U*00401*000000101*0*P*>~\n';
  const text = `${isa}${seg('GS', 'SM', 'ACMETMS', 'FLEETGATE', '20261130', '1405', '1', 'X', '004010')}${seg('ST', '204', '0001')}${body}${seg('SE', String(count), '0001')}${seg('GE', '1', '1')}${seg('IEA', '1', '000000101')}`;
  return Buffer.from(text);
}

await runBenchmark('edi', ROUNDS, async ({ log }) => {
  const files = readdirSync(fixtures)
    .filter((f) => f.endsWith('.edi'))
    .map((f) => readFileSync(join(fixtures, f)));
  if (files.length === 0) throw new Error('no sample 204 files found');
  const big = multiStop();
  const options = { localTimeZone: 'America/Chicago' };
  /** Parses and maps; a file that does not yield exactly one tender fails the benchmark. */
  const parse = (bytes: Buffer): void => {
    const tenders = readLoadTenders(parseInterchange(bytes));
    if (tenders.length !== 1) throw new Error('a sample did not yield one tender');
    loadTenderToTenderRequest(tenders[0] as never, options);
  };
  const terminators = files.map((b) => parseInterchange(b).delimiters.segment);
  const split = (bytes: Buffer, t: string): void => {
    if (bytes.toString('latin1').split(t).length < 10) throw new Error('split found no segments');
  };
  let k = 0;
  const fns = {
    samples: () => {
      const i = k++ % files.length;
      parse(files[i] as Buffer);
    },
    rawSamples: () => {
      const i = k++ % files.length;
      split(files[i] as Buffer, terminators[i] as string);
    },
    big: () => parse(big),
    rawBig: () => split(big, '~'),
  };
  type Name = keyof typeof fns;
  const names = Object.keys(fns) as Name[];
  const rates = Object.fromEntries(names.map((n) => [n, [] as number[]])) as Record<Name, number[]>;
  log(
    `${files.length} sample files (${files.map((f) => f.byteLength).join(', ')} bytes); ${STOPS}-stop 204 of ${big.byteLength} bytes`,
  );
  for (const n of names) rateOfSync(fns[n], WARMUP_MS);
  for (let round = 1; round <= ROUNDS; round += 1) {
    for (const n of names) rates[n].push(rateOfSync(fns[n], MEASURE_MS, undefined, 16));
    const last = (n: Name): string => formatNumber(rates[n].at(-1) as number);
    log(
      `round ${round}: files/s — samples ${last('samples')} (split ${last('rawSamples')}) | ${STOPS}-stop ${last('big')} (split ${last('rawBig')})`,
    );
  }
  const m = (n: Name): number => median(rates[n]);
  log(
    `parse ÷ split: samples ${formatRatio(m('samples') / m('rawSamples'))}, ${STOPS}-stop ${formatRatio(m('big') / m('rawBig'))}`,
  );
  const row = (benchmark: string, figure: Name, limit: Name): BenchRow => ({
    benchmark,
    figure: { value: m(figure), unit: '204 files/s' },
    limit: {
      name: 'latin1 decode + split on the segment terminator, same bytes',
      value: m(limit),
      unit: 'files/s',
    },
    ratio: roundRatios(rates[figure], rates[limit]),
  });
  return [
    row('EDI 204 parse + validate + map (sample files, 0.5–0.8 KB)', 'samples', 'rawSamples'),
    row(
      `EDI 204 parse + validate + map (${STOPS} stops, ${Math.round(big.byteLength / 1024)} KB)`,
      'big',
      'rawBig',
    ),
  ];
});
