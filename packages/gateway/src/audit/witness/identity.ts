/**
 * A witness's identity in its state directory (docs/audit.md "Witness"): `key.pem`, its Ed25519
 * cosigning key (PKCS#8, 0600, in a 0700 directory), `name` and `vkey.txt`, the cosignature/v1 verifier
 * key the operator hands to the logs it witnesses (and to their verifiers) out of band.
 *
 * initWitness() never overwrites an existing key: a witness key that changes silently is a new witness
 * whose history starts empty, which a log could use to get a fork cosigned.
 */
import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeWitnessVkey, isValidWitnessName } from './cosignature.ts';

export interface WitnessIdentity {
  name: string;
  privateKey: KeyObject;
  vkey: string;
}

export function initWitness(stateDir: string, name: string): WitnessIdentity {
  if (!isValidWitnessName(name)) {
    throw new Error('the witness name must be a note key name (no spaces, no "+"), e.g. witness.example/w1');
  }
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  chmodSync(stateDir, 0o700);
  const keyPath = join(stateDir, 'key.pem');
  if (existsSync(keyPath)) throw new Error(`${keyPath} exists: a witness key is never replaced`);
  const { privateKey } = generateKeyPairSync('ed25519');
  writeFileSync(keyPath, privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, {
    mode: 0o600,
    flag: 'wx',
  });
  chmodSync(keyPath, 0o600);
  writeFileSync(join(stateDir, 'name'), `${name}\n`, { mode: 0o644 });
  const vkey = encodeWitnessVkey(name, privateKey);
  writeFileSync(join(stateDir, 'vkey.txt'), `${vkey}\n`, { mode: 0o644 });
  return { name, privateKey, vkey };
}

export function loadWitness(stateDir: string): WitnessIdentity {
  const name = readFileSync(join(stateDir, 'name'), 'utf8').trim();
  if (!isValidWitnessName(name)) throw new Error('the witness name in the state directory is invalid');
  const privateKey = createPrivateKey(readFileSync(join(stateDir, 'key.pem')));
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error('the witness key is not Ed25519');
  return { name, privateKey, vkey: encodeWitnessVkey(name, privateKey) };
}
