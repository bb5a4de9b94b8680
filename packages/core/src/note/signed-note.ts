/**
 * C2SP signed notes (https://c2sp.org/signed-note, as implemented by golang.org/x/mod/sumdb/note):
 *
 *   <text ending in "\n">
 *   "\n"
 *   "— <key name> <base64(4-byte key ID || signature over text)>\n"   (one or more; U+2014 EM DASH)
 *
 * The text is separated from the signatures by the last blank line of the note. Two algorithms: Ed25519
 * (type 0x01) and ML-DSA-65 (0xff || "fleetgate.dev/ml-dsa-65/v1"); the key's KeyObject selects it
 * (see ./internal/note-key.ts). A log that signs with both lets verifiers require both
 * (VerifiedNote.verifiedKeys says exactly which keys verified), so stripping one signature is detected.
 *
 * verifyNote() is how auditors and witnesses read our checkpoints, so a note is hostile until a
 * trusted key has verified it:
 *  1. limits and encoding: at most 1 MiB, valid UTF-8, no control characters other than '\n';
 *  2. split at the last blank line; the signature block must be non-empty and end in '\n';
 *  3. parse every signature line (at most 100): em dash, space, valid key name, space, strict base64
 *     of at least 5 bytes;
 *  4. signatures from unknown keys (name and key ID not both matching) are ignored, as the spec
 *     requires; every signature from a known key must verify over the exact text bytes received,
 *     else the whole note is refused (the spec's SHOULD, taken as MUST: fail closed);
 *  5. at least one signature from a known key must have verified.
 * Failures of steps 1-3 are CORE_NOTE_MALFORMED, of steps 4-5 CORE_NOTE_UNVERIFIED.
 */
import type { KeyObject } from 'node:crypto';
import { concatBytes, toHex, utf8 } from '../bytes.ts';
import { CoreError } from '../errors.ts';
import {
  describeNoteKey,
  type NoteKeyDescription,
  noteKeyIdBytes,
  noteSign,
  noteVerify,
} from './internal/note-key.ts';
import {
  decodeUtf8,
  fromBase64Std,
  isValidKeyName,
  isValidNoteString,
  MAX_NOTE_BYTES,
  MAX_SIGNATURES,
  SIGNATURE_PREFIX,
  toBase64Std,
} from './internal/syntax.ts';

export interface NoteSigner {
  /** Key name, e.g. the log's origin "fleetgate.example/audit". */
  readonly name: string;
  readonly privateKey: KeyObject;
}

export interface NoteVerifier {
  readonly name: string;
  readonly publicKey: KeyObject;
}

export interface VerifiedNote {
  /** The note text that the signatures cover, including its final newline. */
  readonly text: string;
  /** Names of the known keys whose signatures verified, each once, in note order. */
  readonly verifiedBy: readonly string[];
  /** The known keys whose signatures verified (name, key ID as 8 hex digits, algorithm), in note order. */
  readonly verifiedKeys: readonly VerifiedNoteKey[];
}

export interface VerifiedNoteKey {
  readonly name: string;
  readonly keyId: string;
  readonly alg: NoteKeyDescription['alg'];
}

interface PreparedKey {
  readonly name: string;
  readonly key: KeyObject;
  readonly description: NoteKeyDescription;
  readonly keyId: Uint8Array;
}

/** Signs `text` (which must end in '\n') with every signer, in order; returns the signed note. */
export function signNote(text: string, signers: readonly NoteSigner[]): string {
  if (typeof text !== 'string' || !isValidNoteString(text)) {
    throw new CoreError('CORE_NOTE_MALFORMED', 'note text must be valid Unicode without control characters');
  }
  if (!text.endsWith('\n')) throw new CoreError('CORE_NOTE_MALFORMED', 'note text must end in a newline');
  if (!Array.isArray(signers) || signers.length === 0 || signers.length > MAX_SIGNATURES) {
    throw new CoreError('CORE_INVALID_ARGUMENT', `a note needs 1 to ${MAX_SIGNATURES} signers`);
  }
  const keys = prepareKeys(
    signers.map((s) => ({ name: s.name, key: s.privateKey })),
    'private',
  );
  const textBytes = utf8(text);
  let note = `${text}\n`;
  for (const k of keys.values()) {
    const signature = noteSign(k.key, k.description, textBytes);
    note += `${SIGNATURE_PREFIX}${k.name} ${toBase64Std(concatBytes(k.keyId, signature))}\n`;
  }
  if (Buffer.byteLength(note, 'utf8') > MAX_NOTE_BYTES) {
    throw new CoreError('CORE_NOTE_MALFORMED', 'signed note would exceed 1 MiB');
  }
  return note;
}

/** Verifies a signed note against trusted keys; returns its text and which keys signed it (see above). */
export function verifyNote(note: string | Uint8Array, verifiers: readonly NoteVerifier[]): VerifiedNote {
  if (!Array.isArray(verifiers)) throw new CoreError('CORE_INVALID_ARGUMENT', 'verifiers must be an array');
  const known = prepareKeys(
    verifiers.map((v) => ({ name: v.name, key: v.publicKey })),
    'public',
  );

  // Step 1: limits and encoding. The note is attacker-controlled; parse defensively.
  const bytes = noteBytes(note);
  const whole = decodeUtf8(bytes);
  if (whole === undefined || !isValidNoteString(whole)) {
    throw new CoreError('CORE_NOTE_MALFORMED', 'note is not UTF-8 without control characters');
  }

  // Step 2: the text ends at the last blank line; signatures are verified over these exact bytes.
  const split = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).lastIndexOf('\n\n');
  if (split < 0) throw new CoreError('CORE_NOTE_MALFORMED', 'note has no blank line before its signatures');
  const textBytes = bytes.subarray(0, split + 1);
  const block = decodeUtf8(bytes.subarray(split + 2)) ?? '';
  if (block === '' || !block.endsWith('\n')) {
    throw new CoreError('CORE_NOTE_MALFORMED', 'signature block is empty or does not end in a newline');
  }

  // Step 3: signature lines.
  const lines = block.slice(0, -1).split('\n');
  if (lines.length > MAX_SIGNATURES) {
    throw new CoreError('CORE_NOTE_MALFORMED', `note has more than ${MAX_SIGNATURES} signatures`);
  }
  const signatures = lines.map(parseSignatureLine);

  // Steps 4-5.
  const verifiedBy: string[] = [];
  const verifiedKeys: VerifiedNoteKey[] = [];
  for (const { name, keyId, signature } of signatures) {
    const key = known.get(mapKey(name, keyId));
    if (key === undefined) continue; // unknown key: ignored, as the spec requires
    if (!noteVerify(key.key, key.description, textBytes, signature)) {
      throw new CoreError('CORE_NOTE_UNVERIFIED', `signature by ${name}+${toHex(keyId)} does not verify`);
    }
    if (!verifiedBy.includes(name)) verifiedBy.push(name);
    if (!verifiedKeys.some((k) => k.name === name && k.keyId === toHex(keyId))) {
      verifiedKeys.push({ name, keyId: toHex(keyId), alg: key.description.alg });
    }
  }
  if (verifiedBy.length === 0) throw new CoreError('CORE_NOTE_UNVERIFIED', 'no signature from a known key');
  return { text: decodeUtf8(textBytes) ?? '', verifiedBy, verifiedKeys };
}

function noteBytes(note: string | Uint8Array): Uint8Array {
  if (note instanceof Uint8Array) {
    if (note.byteLength > MAX_NOTE_BYTES) throw new CoreError('CORE_NOTE_MALFORMED', 'note exceeds 1 MiB');
    return note;
  }
  if (typeof note !== 'string') throw new CoreError('CORE_NOTE_MALFORMED', 'note must be a string or bytes');
  // Each UTF-16 unit is at least one UTF-8 byte: refuse oversized strings before encoding them.
  if (note.length > MAX_NOTE_BYTES || !note.isWellFormed()) {
    throw new CoreError('CORE_NOTE_MALFORMED', 'note exceeds 1 MiB or is not well-formed Unicode');
  }
  const bytes = utf8(note);
  if (bytes.byteLength > MAX_NOTE_BYTES) throw new CoreError('CORE_NOTE_MALFORMED', 'note exceeds 1 MiB');
  return bytes;
}

function parseSignatureLine(line: string): { name: string; keyId: Uint8Array; signature: Uint8Array } {
  if (!line.startsWith(SIGNATURE_PREFIX)) {
    throw new CoreError('CORE_NOTE_MALFORMED', 'signature line does not start with an em dash and a space');
  }
  const rest = line.slice(SIGNATURE_PREFIX.length);
  const space = rest.indexOf(' ');
  const name = space < 0 ? '' : rest.slice(0, space);
  if (!isValidKeyName(name))
    throw new CoreError('CORE_NOTE_MALFORMED', 'signature line has an invalid key name');
  const raw = fromBase64Std(rest.slice(space + 1), 'CORE_NOTE_MALFORMED', 'signature');
  if (raw.byteLength < 5) throw new CoreError('CORE_NOTE_MALFORMED', 'signature is shorter than 5 bytes');
  return { name, keyId: raw.subarray(0, 4), signature: raw.subarray(4) };
}

/** Validates names and keys and indexes them by (name, key ID); refuses duplicates, which would be ambiguous. */
function prepareKeys(
  entries: readonly { name: string; key: KeyObject }[],
  type: 'public' | 'private',
): Map<string, PreparedKey> {
  const keys = new Map<string, PreparedKey>();
  for (const { name, key } of entries) {
    if (!isValidKeyName(name)) throw new CoreError('CORE_INVALID_ARGUMENT', 'invalid note key name');
    const description = describeNoteKey(key);
    if (type === 'private' && key.type !== 'private') {
      throw new CoreError('CORE_INVALID_KEY', 'a note signer needs a private key');
    }
    const keyId = noteKeyIdBytes(name, description);
    const id = mapKey(name, keyId);
    if (keys.has(id))
      throw new CoreError('CORE_INVALID_ARGUMENT', `key ${name}+${toHex(keyId)} is given twice`);
    keys.set(id, { name, key, description, keyId });
  }
  return keys;
}

/** Names contain no whitespace, so '\n' cannot occur in either half. */
function mapKey(name: string, keyId: Uint8Array): string {
  return `${name}\n${toHex(keyId)}`;
}
