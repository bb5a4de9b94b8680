/**
 * Signature suites (packages/core/src/signature, issue 5): verifications per second, one thread, one
 * reused KeyObject per suite, over the same input — the signing input of a real 100-record telemetry
 * batch (core's domain-separated layout over a protocol-encoded batch, bench/lib/bodies.ts).
 *
 * Rows (each round measures every function back to back, so a ratio compares one moment of the machine):
 *  - hybrid Ed25519 + ML-DSA-65 against Ed25519 alone and against ML-DSA-65 alone: the price of the
 *    post-quantum hybrid (it runs both, so it cannot beat either; ≈ 1 / (1/ed + 1/mldsa) if nothing else
 *    costs);
 *  - each suite's verify against the bare node:crypto call it wraps (same key, same bytes): what our
 *    checks cost on top — length and key-type checks, ECDSA's range and low-S checks, HMAC's full-tag
 *    constant-time comparison;
 *  - verifySignature's dispatch against calling ed25519Verify directly.
 * Figures go to stdout; the last line is `BENCH_RESULT {json}` for bench/run-all.js.
 */
import { createHmac, generateKeyPairSync, verify } from 'node:crypto';
import {
  ecdsaP256Sign,
  ecdsaP256Verify,
  generateEcdsaP256KeyPair,
} from '@fleetgate/core/signature/ecdsa-p256';
import { ed25519Sign, ed25519Verify } from '@fleetgate/core/signature/ed25519';
import {
  generateHmacSha256Key,
  hmacSha256Sign,
  hmacSha256Verify,
} from '@fleetgate/core/signature/hmac-sha256';
import {
  generateHybridEd25519MlDsa65KeyPair,
  hybridEd25519MlDsa65Sign,
  hybridEd25519MlDsa65Verify,
} from '@fleetgate/core/signature/hybrid-ed25519-mldsa65';
import { generateMlDsa65KeyPair, mlDsa65Sign, mlDsa65Verify } from '@fleetgate/core/signature/ml-dsa-65';
import { verifySignature } from '@fleetgate/core/signature/verify';
import { signBatch } from './lib/bodies.ts';
import { type BenchRow, formatNumber, formatRatio } from './lib/result.ts';
import { runBenchmark } from './lib/runner.ts';
import { median, rateOfSync, roundRatios } from './lib/stats.ts';

const RECORDS = 100;
const ROUNDS = 3;
const WARMUP_MS = 300;
const MEASURE_MS = 700;

/** A check that must hold for every call, so a benchmark of a broken verifier fails instead of flattering. */
const must = (ok: boolean, what: string): void => {
  if (!ok) throw new Error(`${what}: the sample does not verify`);
};

await runBenchmark('signatures', ROUNDS, async ({ log }) => {
  const ed = generateKeyPairSync('ed25519');
  const input = signBatch(ed.privateKey, 'BENCH-TRK-001', 1n, RECORDS).signingInput;
  const ec = generateEcdsaP256KeyPair();
  const mac = generateHmacSha256Key();
  const ml = generateMlDsa65KeyPair();
  const hy = generateHybridEd25519MlDsa65KeyPair();

  const edSig = ed25519Sign(ed.privateKey, input);
  const ecSig = ecdsaP256Sign(ec.privateKey, input);
  const tag = hmacSha256Sign(mac, input);
  const mlSig = mlDsa65Sign(ml.privateKey, input);
  const hySig = hybridEd25519MlDsa65Sign(hy.privateKey, input);
  log(`input: signing input of a ${RECORDS}-record batch, ${formatNumber(input.byteLength)} bytes`);
  log(
    `signature bytes: ed25519 ${edSig.byteLength}, ecdsa ${ecSig.byteLength}, hmac ${tag.byteLength}, ml-dsa-65 ${mlSig.byteLength}, hybrid ${hySig.byteLength}`,
  );

  const fns = {
    ed25519: () => must(ed25519Verify(ed.publicKey, input, edSig), 'ed25519'),
    rawEd25519: () => must(verify(null, input, ed.publicKey, edSig), 'raw ed25519'),
    dispatchEd25519: () => must(verifySignature('ed25519', ed.publicKey, input, edSig), 'verifySignature'),
    ecdsa: () => must(ecdsaP256Verify(ec.publicKey, input, ecSig), 'ecdsa'),
    rawEcdsa: () =>
      must(verify('sha256', input, { key: ec.publicKey, dsaEncoding: 'ieee-p1363' }, ecSig), 'raw ecdsa'),
    hmac: () => must(hmacSha256Verify(mac, input, tag), 'hmac'),
    rawHmac: () => {
      createHmac('sha256', mac).update(input).digest();
    },
    mlDsa: () => must(mlDsa65Verify(ml.publicKey, input, mlSig), 'ml-dsa-65'),
    rawMlDsa: () => must(verify(null, input, ml.publicKey, mlSig), 'raw ml-dsa-65'),
    hybrid: () => must(hybridEd25519MlDsa65Verify(hy.publicKey, input, hySig), 'hybrid'),
  };
  type Name = keyof typeof fns;
  const names = Object.keys(fns) as Name[];
  const rates = Object.fromEntries(names.map((n) => [n, [] as number[]])) as Record<Name, number[]>;

  for (const n of names) rateOfSync(fns[n], WARMUP_MS);
  for (let round = 1; round <= ROUNDS; round += 1) {
    for (const n of names) rates[n].push(rateOfSync(fns[n], MEASURE_MS, undefined, 16));
    const last = (n: Name): string => formatNumber(rates[n].at(-1) as number);
    log(
      `round ${round}: verifies/s — ed25519 ${last('ed25519')} | ecdsa-p256 ${last('ecdsa')} | hmac ${last('hmac')} | ml-dsa-65 ${last('mlDsa')} | hybrid ${last('hybrid')}`,
    );
  }

  const m = (n: Name): number => median(rates[n]);
  const predicted = 1 / (1 / m('ed25519') + 1 / m('mlDsa'));
  log(
    `hybrid: ${formatRatio(m('hybrid') / m('ed25519'))} of Ed25519 alone, ${formatRatio(m('hybrid') / m('mlDsa'))} of ML-DSA-65 alone; ` +
      `both-in-sequence prediction ${formatNumber(predicted)}/s (measured ${formatNumber(m('hybrid'))}/s)`,
  );
  log(
    `records/s a core could verify at ${RECORDS} records a batch: ed25519 ${formatNumber(m('ed25519') * RECORDS)}, hybrid ${formatNumber(m('hybrid') * RECORDS)}`,
  );

  const row = (benchmark: string, figure: Name, limit: Name, limitName: string): BenchRow => ({
    benchmark,
    figure: {
      value: m(figure),
      unit: 'verifies/s',
      detail: `${formatNumber(m(figure) * RECORDS)} records/s at ${RECORDS} a batch`,
    },
    limit: { name: limitName, value: m(limit), unit: 'verifies/s' },
    ratio: roundRatios(rates[figure], rates[limit]),
  });
  return [
    row(
      'hybrid Ed25519+ML-DSA-65 verify',
      'hybrid',
      'ed25519',
      'Ed25519 verify alone (ed25519Verify), same input',
    ),
    row(
      'hybrid Ed25519+ML-DSA-65 verify',
      'hybrid',
      'mlDsa',
      'ML-DSA-65 verify alone (mlDsa65Verify), same input',
    ),
    row(
      'Ed25519 verify (ed25519Verify)',
      'ed25519',
      'rawEd25519',
      'bare node:crypto verify, same key and bytes',
    ),
    row(
      'ECDSA P-256 verify (range, low-S, P1363)',
      'ecdsa',
      'rawEcdsa',
      'bare node:crypto verify (ieee-p1363)',
    ),
    row(
      'HMAC-SHA256 verify (full tag, constant-time)',
      'hmac',
      'rawHmac',
      'bare createHmac digest, same KeyObject',
    ),
    row(
      'ML-DSA-65 verify (mlDsa65Verify)',
      'mlDsa',
      'rawMlDsa',
      'bare node:crypto verify, same key and bytes',
    ),
    row('verifySignature dispatch (ed25519)', 'dispatchEd25519', 'ed25519', 'ed25519Verify called directly'),
  ];
});
