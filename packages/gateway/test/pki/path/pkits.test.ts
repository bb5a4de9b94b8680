/**
 * NIST PKITS (2011 edition), sections 4.1–4.16, against validatePath and crlRevocationChecker: every
 * path test in test/fixtures/pkits-expected.json is run with its trust anchor, CRLs and initial policy
 * settings, and any difference from the expected result — validity, code, position, or the
 * user-constrained policy set — fails the test. Where fleetgate deliberately differs from PKITS
 * (DSA refused, delta CRLs not processed, no CRL vouching for its own signer) the table records our behaviour and a note says why; a
 * test below checks that every such case carries a note and that there are no others.
 *
 * The certificates and CRLs come from Debian's python3-cryptography-vectors (.ci/run installs it). When
 * the package is absent the suite is skipped with a message saying so; when present, loading zero cases
 * or a case whose files are missing is a failure.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { crlRevocationChecker } from '../../../src/pki/path/crl-revocation.ts';
import type { PathCode } from '../../../src/pki/path/types.ts';
import { validatePath } from '../../../src/pki/path/validate.ts';

const PKITS_DIR =
  process.env.FLEETGATE_PKITS_DIR ?? '/usr/lib/python3/dist-packages/cryptography_vectors/x509/PKITS_data';
const TABLE = join(import.meta.dirname, '..', '..', 'fixtures', 'pkits-expected.json');

interface Settings {
  readonly initialPolicySet?: readonly string[];
  readonly initialExplicitPolicy?: boolean;
  readonly initialPolicyMappingInhibit?: boolean;
  readonly initialAnyPolicyInhibit?: boolean;
}

interface PkitsCase {
  readonly id: string;
  readonly name: string;
  readonly pkits: 'pass' | 'fail';
  readonly anchor: string;
  readonly chain: readonly string[];
  readonly crls: readonly string[];
  readonly crlSigners?: readonly string[];
  readonly settings?: Settings;
  readonly expected:
    | { readonly ok: true; readonly userConstrainedPolicySet: readonly string[] }
    | { readonly ok: false; readonly code: PathCode; readonly position: number };
  readonly note?: string;
}

interface PkitsTable {
  readonly validationTime: string;
  readonly purpose: 'any';
  readonly policies: Readonly<Record<string, string>>;
  readonly cases: readonly PkitsCase[];
}

const table = JSON.parse(readFileSync(TABLE, 'utf8')) as PkitsTable;
const present = existsSync(join(PKITS_DIR, 'certs', 'TrustAnchorRootCertificate.crt'));

function certificate(name: string): Uint8Array {
  return new Uint8Array(readFileSync(join(PKITS_DIR, 'certs', `${name}.crt`)));
}

function crl(name: string): Uint8Array {
  return new Uint8Array(readFileSync(join(PKITS_DIR, 'crls', `${name}.crl`)));
}

function policyOid(name: string): string {
  const oid = table.policies[name];
  if (oid === undefined) throw new Error(`unknown policy name ${name} in the PKITS table`);
  return oid;
}

function runCase(c: PkitsCase): unknown {
  const s = c.settings ?? {};
  const result = validatePath({
    chain: c.chain.map(certificate),
    trustAnchors: [certificate(c.anchor)],
    time: new Date(table.validationTime),
    purpose: table.purpose,
    revocation: crlRevocationChecker(c.crls.map(crl), { crlSigners: (c.crlSigners ?? []).map(certificate) }),
    ...(s.initialPolicySet ? { initialPolicySet: s.initialPolicySet.map(policyOid) } : {}),
    ...(s.initialExplicitPolicy ? { initialExplicitPolicy: true } : {}),
    ...(s.initialPolicyMappingInhibit ? { initialPolicyMappingInhibit: true } : {}),
    ...(s.initialAnyPolicyInhibit ? { initialAnyPolicyInhibit: true } : {}),
  });
  const names = Object.fromEntries(Object.entries(table.policies).map(([name, oid]) => [oid, name]));
  return result.ok
    ? { ok: true, userConstrainedPolicySet: result.userConstrainedPolicySet.map((oid) => names[oid] ?? oid) }
    : { ok: false, code: result.code, position: result.position };
}

if (!present) {
  console.warn(
    `NIST PKITS skipped: vectors not found at ${PKITS_DIR} (apt-get install python3-cryptography-vectors)`,
  );
  describe('NIST PKITS', () => {
    it.skip(`skipped: PKITS vectors not found at ${PKITS_DIR} (apt-get install python3-cryptography-vectors)`, () => {});
  });
} else {
  describe('NIST PKITS', () => {
    it('loads the whole table, and every file it names exists', () => {
      expect(table.cases.length).toBeGreaterThan(200);
      expect(new Set(table.cases.map((c) => c.id)).size).toBe(table.cases.length);
      const missing = table.cases.flatMap((c) => [
        ...[c.anchor, ...c.chain, ...(c.crlSigners ?? [])].filter(
          (n) => !existsSync(join(PKITS_DIR, 'certs', `${n}.crt`)),
        ),
        ...c.crls.filter((n) => !existsSync(join(PKITS_DIR, 'crls', `${n}.crl`))),
      ]);
      expect(missing).toEqual([]);
    });

    it('records a note for every deliberate deviation from the PKITS verdict, and has no others', () => {
      const deviations = table.cases.filter((c) => c.expected.ok !== (c.pkits === 'pass'));
      expect(deviations.filter((c) => c.note === undefined).map((c) => c.id)).toEqual([]);
      expect(deviations.map((c) => c.id)).toEqual([
        '4.1.4',
        '4.1.5',
        '4.14.30',
        '4.15.2',
        '4.15.5',
        '4.15.7',
        '4.15.8',
      ]);
    });

    it.each(table.cases.map((c) => [`${c.id} ${c.name}`, c] as const))('%s', (_title, c) => {
      expect(runCase(c)).toEqual(c.expected);
    });
  });
}
