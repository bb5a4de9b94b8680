/** Verifier-key strings (<name>+<key ID hex>+<base64(type || key)>): strict parsing and round trips. */
import { describe, expect, it } from 'vitest';
import { encodeVerifierKey, parseVerifierKey } from '../src/note/verifier-key.ts';
import { generateEd25519KeyPair } from '../src/signature/ed25519.ts';
import { GO_PETER_VKEY } from './helpers/go-note.ts';
import { coreErrorCode } from './helpers/vectors.ts';

const LOG = 'fleetgate.example/audit';

describe('parseVerifierKey refuses (CORE_INVALID_KEY)', () => {
  const [name, id, key] = ['PeterNeumann', 'c74f20a3', 'ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW'];
  it.each([
    ['an upper-case key ID', `${name}+C74F20A3+${key}`],
    ['a wrong key ID', `${name}+c74f20a4+${key}`],
    ['a short key ID', `${name}+c74f20a+${key}`],
    ['another name', `PeterNeumann2+${id}+${key}`],
    ['a missing part', `${name}+${id}`],
    ['an empty name', `+${id}+${key}`],
    ['a name with a space', `Peter Neumann+${id}+${key}`],
    ['unpadded base64', `${name}+${id}+${key.slice(0, -1)}`],
    [
      'signature type 0x02',
      `${name}+${id}+${Buffer.from([2, ...Buffer.from(key, 'base64').subarray(1)]).toString('base64')}`,
    ],
    ['a 31-byte key', `${name}+${id}+${Buffer.from([1, ...new Uint8Array(31)]).toString('base64')}`],
    ['an empty key', `${name}+${id}+`],
    ['more than 16 KiB', `${name}+${id}+${'A'.repeat(16 * 1024)}`],
  ])('%s', (_, vkey) => {
    expect(coreErrorCode(() => parseVerifierKey(vkey))).toBe('CORE_INVALID_KEY');
  });

  it('every truncation and every byte change of a valid key', () => {
    for (let i = 0; i < GO_PETER_VKEY.length; i++) {
      expect(coreErrorCode(() => parseVerifierKey(GO_PETER_VKEY.slice(0, i)))).toBe('CORE_INVALID_KEY');
      const changed =
        GO_PETER_VKEY.slice(0, i) +
        String.fromCharCode(GO_PETER_VKEY.charCodeAt(i) + 1) +
        GO_PETER_VKEY.slice(i + 1);
      expect(coreErrorCode(() => parseVerifierKey(changed))).toBe('CORE_INVALID_KEY');
    }
  });

  it('round trips generated keys', () => {
    const { publicKey } = generateEd25519KeyPair();
    const vkey = encodeVerifierKey(LOG, publicKey);
    const parsed = parseVerifierKey(vkey);
    expect(parsed.name).toBe(LOG);
    expect(parsed.publicKey.equals(publicKey)).toBe(true);
    expect(coreErrorCode(() => encodeVerifierKey('a+b', publicKey))).toBe('CORE_INVALID_ARGUMENT');
  });
});
