/**
 * Test support: a throw-away SoftHSM2 token for the PKCS#11 provider tests, initialised by the real
 * scripts/ci/softhsm.sh in a temporary folder (never the system's token store). When SoftHSM2 or the
 * native module pkcs11js is absent, `provisionSoftHsm` says why, and the tests skip visibly.
 * SOFTHSM2_CONF is read by the library at C_Initialize, so it is set in this process before any use.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pkcs11Available } from '../../src/pki/keys/pkcs11-provider.ts';

const SCRIPT = join(import.meta.dirname, '../../../../scripts/ci/softhsm.sh');

export interface SoftHsm {
  readonly module: string;
  readonly tokenLabel: string;
  /** Environment with the PIN variable, for SecretContext.env. */
  readonly env: NodeJS.ProcessEnv;
  readonly pinEnv: 'FLEETGATE_PKCS11_PIN';
  readonly pin: string;
  cleanup(): void;
}

export function provisionSoftHsm(): SoftHsm | { skip: string } {
  if (!pkcs11Available()) {
    return {
      skip: 'pkcs11js is not built for this Node (run node_modules/.bin/node scripts/prepare-native.js)',
    };
  }
  const dir = mkdtempSync(join(tmpdir(), 'fleetgate-softhsm-'));
  const tokenLabel = `fg-${process.pid}`;
  const result = spawnSync('bash', [SCRIPT, dir], {
    encoding: 'utf8',
    env: {
      ...process.env,
      FLEETGATE_PKCS11_TOKEN_LABEL: tokenLabel,
      FLEETGATE_PKCS11_PIN: '',
      FLEETGATE_PKCS11_SO_PIN: '',
    },
  });
  if (result.status === 3) {
    rmSync(dir, { recursive: true, force: true });
    return { skip: 'SoftHSM2 is not installed (apt-get install softhsm2)' };
  }
  if (result.status !== 0) throw new Error(`softhsm.sh failed: ${result.stderr}`);
  const vars: Record<string, string> = {};
  for (const line of result.stdout.split('\n')) {
    const match = /^export ([A-Z0-9_]+)=(.*)$/.exec(line);
    if (match?.[1] !== undefined) vars[match[1]] = (match[2] ?? '').replace(/^'(.*)'$/, '$1');
  }
  const conf = vars.SOFTHSM2_CONF;
  const module = vars.FLEETGATE_PKCS11_MODULE;
  const pin = vars.FLEETGATE_PKCS11_PIN;
  if (conf === undefined || module === undefined || pin === undefined)
    throw new Error('softhsm.sh printed no settings');
  process.env.SOFTHSM2_CONF = conf;
  return {
    module,
    tokenLabel,
    env: { FLEETGATE_PKCS11_PIN: pin },
    pinEnv: 'FLEETGATE_PKCS11_PIN',
    pin,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
