/**
 * C2SP tlog-cosignature (https://c2sp.org/tlog-cosignature), the Ed25519 type "cosignature/v1": a
 * witness's note signature on a checkpoint it verified to be consistent with everything it saw before.
 *
 *   key ID     SHA-256(<name> || "\n" || 0x04 || 32-byte Ed25519 public key)[:4]
 *   vkey       <name>+<key ID hex>+base64(0x04 || public key)        (signed-note verifier key form)
 *   line       "— <name> " base64(key ID || timestamp || signature) "\n"
 *   timestamp  u64 big-endian POSIX seconds, at most 2^63 - 1
 *   signature  Ed25519 over "cosignature/v1\ntime <timestamp>\n" || checkpoint body (the note text,
 *              final newline included, no signature lines)
 *
 * The type byte 0x04 sits inside the key ID hash, so a cosignature can never be mistaken for a log
 * signature (0x01) of the same key and name: the log's verifiers, which only know 0x01 and our ML-DSA-65
 * type, ignore these lines as signatures from unknown keys, as the signed-note spec requires.
 *
 * Everything here parses hostile input (a witness's response, a served checkpoint): strict base64,
 * fixed lengths, a timestamp below 2^63, and verification over the exact checkpoint bytes. Nothing throws
 * on a bad signature line; vkeys that do not parse throw WitnessKeyError.
 */
import { createPublicKey, type KeyObject, sign, verify } from 'node:crypto';
import { concatBytes, toHex, u64be, utf8 } from '@fleetgate/core/bytes';
import { sha256 } from '@fleetgate/core/hash';

/** The signature type byte of Ed25519 cosignature/v1 keys. */
export const COSIGNATURE_V1_TYPE = 0x04;
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const MAX_TIMESTAMP = (1n << 63n) - 1n;
/** "— " (U+2014 EM DASH, space): the start of every note signature line. */
const SIGNATURE_PREFIX = '\u2014 ';
const NAME_FORBIDDEN_RE = /[\s\p{Z}\p{Cc}+]/u;
const BASE64_STD_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const KEY_ID_RE = /^[0-9a-f]{8}$/;

export class WitnessKeyError extends Error {
  readonly code = 'WITNESS_KEY_INVALID';
  constructor(message: string) {
    super(message);
    this.name = 'WitnessKeyError';
  }
}

export interface WitnessVerifierKey {
  readonly name: string;
  /** The 4-byte key ID as 8 lower-case hex digits. */
  readonly keyId: string;
  readonly publicKey: KeyObject;
}

export interface Cosignature {
  readonly name: string;
  readonly keyId: string;
  /** POSIX seconds claimed by the witness. */
  readonly timestamp: bigint;
  /** The signature line, ending in '\n', exactly as received. */
  readonly line: string;
}

/** Signed-note key names: non-empty, no Unicode space, no control character, no '+'. */
export function isValidWitnessName(name: unknown): name is string {
  return (
    typeof name === 'string' &&
    name !== '' &&
    name.length <= 256 &&
    name.isWellFormed() &&
    !NAME_FORBIDDEN_RE.test(name)
  );
}

function rawEd25519(publicKey: KeyObject): Uint8Array {
  if (publicKey.asymmetricKeyType !== 'ed25519') throw new WitnessKeyError('a witness key must be Ed25519');
  const pub = publicKey.type === 'private' ? createPublicKey(publicKey) : publicKey;
  const spki = new Uint8Array(pub.export({ format: 'der', type: 'spki' }));
  return spki.slice(ED25519_SPKI_PREFIX.byteLength);
}

function keyIdBytes(name: string, raw: Uint8Array): Uint8Array {
  return sha256(utf8(name), new Uint8Array([0x0a, COSIGNATURE_V1_TYPE]), raw).slice(0, 4);
}

/** The witness's verifier key, `<name>+<keyid>+<base64(0x04 || key)>`, from its public or private key. */
export function encodeWitnessVkey(name: string, key: KeyObject): string {
  if (!isValidWitnessName(name)) throw new WitnessKeyError('invalid witness name');
  const raw = rawEd25519(key);
  const encoded = concatBytes(new Uint8Array([COSIGNATURE_V1_TYPE]), raw);
  return `${name}+${toHex(keyIdBytes(name, raw))}+${Buffer.from(encoded).toString('base64')}`;
}

/** Parses a cosignature/v1 verifier key; refuses other types and a key ID that does not match. */
export function parseWitnessVkey(vkey: string): WitnessVerifierKey {
  if (typeof vkey !== 'string' || vkey.length > 1024) throw new WitnessKeyError('witness vkey is too long');
  const first = vkey.indexOf('+');
  const second = first < 0 ? -1 : vkey.indexOf('+', first + 1);
  if (second < 0) throw new WitnessKeyError('witness vkey is not name+keyid+key');
  const name = vkey.slice(0, first);
  const keyId = vkey.slice(first + 1, second);
  const encoded = strictBase64(vkey.slice(second + 1));
  if (!isValidWitnessName(name)) throw new WitnessKeyError('witness vkey has an invalid name');
  if (!KEY_ID_RE.test(keyId)) throw new WitnessKeyError('witness vkey ID is not 8 lower-case hex digits');
  if (encoded === undefined || encoded.byteLength !== 33 || encoded[0] !== COSIGNATURE_V1_TYPE) {
    throw new WitnessKeyError('witness vkey is not a cosignature/v1 (0x04) Ed25519 key');
  }
  const raw = encoded.subarray(1);
  if (toHex(keyIdBytes(name, raw)) !== keyId) {
    throw new WitnessKeyError('witness vkey ID does not match its name and key');
  }
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey({
      key: Buffer.concat([ED25519_SPKI_PREFIX, raw]),
      format: 'der',
      type: 'spki',
    });
  } catch {
    throw new WitnessKeyError('witness vkey is not a valid Ed25519 key');
  }
  return { name, keyId, publicKey };
}

/** The cosignature/v1 signed message: header, time line, checkpoint body. */
export function cosignedMessage(checkpointBody: string, timestamp: bigint): Uint8Array {
  return utf8(`cosignature/v1\ntime ${timestamp}\n${checkpointBody}`);
}

/** Cosigns a checkpoint body (note text ending in '\n') at `timestamp` POSIX seconds: one signature line. */
export function cosign(
  checkpointBody: string,
  name: string,
  privateKey: KeyObject,
  timestamp: bigint,
): string {
  if (timestamp < 0n || timestamp > MAX_TIMESTAMP) throw new RangeError('timestamp out of range');
  const raw = rawEd25519(privateKey);
  const signature = new Uint8Array(sign(null, cosignedMessage(checkpointBody, timestamp), privateKey));
  const payload = concatBytes(keyIdBytes(name, raw), u64be(timestamp), signature);
  return `${SIGNATURE_PREFIX}${name} ${Buffer.from(payload).toString('base64')}\n`;
}

/**
 * Finds and verifies `witness`'s cosignatures among `lines` (signature lines, '\n'-terminated or not)
 * over `checkpointBody`. Lines of other keys are ignored; a line of this witness's name and key ID that
 * does not verify makes the whole answer `invalid` (fail closed). Returns the verified cosignatures.
 */
export function verifyCosignatures(
  checkpointBody: string,
  lines: readonly string[],
  witness: WitnessVerifierKey,
): { ok: true; cosignatures: Cosignature[] } | { ok: false; reason: 'missing' | 'invalid' } {
  const found: Cosignature[] = [];
  for (const rawLine of lines) {
    const line = rawLine.endsWith('\n') ? rawLine.slice(0, -1) : rawLine;
    const prefix = `${SIGNATURE_PREFIX}${witness.name} `;
    if (!line.startsWith(prefix)) continue;
    const payload = strictBase64(line.slice(prefix.length));
    if (payload === undefined || payload.byteLength < 4) continue;
    if (toHex(payload.subarray(0, 4)) !== witness.keyId) continue; // another key of the same name
    if (payload.byteLength !== 4 + 8 + 64) return { ok: false, reason: 'invalid' };
    const timestamp = Buffer.from(payload.subarray(4, 12)).readBigUInt64BE(0);
    if (timestamp > MAX_TIMESTAMP) return { ok: false, reason: 'invalid' };
    const ok = verify(
      null,
      cosignedMessage(checkpointBody, timestamp),
      witness.publicKey,
      payload.subarray(12),
    );
    if (!ok) return { ok: false, reason: 'invalid' };
    found.push({ name: witness.name, keyId: witness.keyId, timestamp, line: `${line}\n` });
  }
  return found.length === 0 ? { ok: false, reason: 'missing' } : { ok: true, cosignatures: found };
}

/**
 * Checks that a served checkpoint (a signed note, possibly with other signatures) carries a valid
 * cosignature of `witnessVkey`: what a verifier that REQUIRES a witness runs after checking the log's own
 * two signatures (docs/audit.md "Witness"). Returns the verified cosignature, or why not.
 */
export function verifyCheckpointCosignature(
  note: string,
  witnessVkey: string | WitnessVerifierKey,
): { ok: true; cosignature: Cosignature } | { ok: false; reason: 'missing' | 'invalid' | 'malformed' } {
  const witness = typeof witnessVkey === 'string' ? parseWitnessVkey(witnessVkey) : witnessVkey;
  if (typeof note !== 'string' || note.length > 1024 * 1024) return { ok: false, reason: 'malformed' };
  const split = note.lastIndexOf('\n\n');
  if (split < 0 || !note.endsWith('\n')) return { ok: false, reason: 'malformed' };
  const body = note.slice(0, split + 1);
  const lines = note.slice(split + 2, -1).split('\n');
  const result = verifyCosignatures(body, lines, witness);
  if (!result.ok) return result;
  return { ok: true, cosignature: result.cosignatures[0] as Cosignature };
}

function strictBase64(text: string): Uint8Array | undefined {
  if (!BASE64_STD_RE.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64');
  if (bytes.toString('base64') !== text) return undefined;
  return new Uint8Array(bytes);
}
