/**
 * Offline verification of an audit receipt (docs/audit.md "Verifying a receipt offline"): what a TMS
 * partner runs to prove its tender decision is in the log, with nothing but the receipt JSON and the
 * log's two verifier keys (GET /v1/audit/vkey, pinned out of band). Uses only @fleetgate/core.
 *
 * Five named steps, failing closed, each failure with a stable code (ReceiptProblemCode):
 *  1. keys: both verifier keys parse, one Ed25519 and one ML-DSA-65, both named by the log's origin;
 *  2. signatures: the checkpoint verifies with BOTH keys (one stripped or altered is refused);
 *  3. checkpoint: its body parses, names the origin, and covers treeSize entries;
 *  4. entry: SHA-256(0x00 || entry) is the receipt's leaf hash, and index < treeSize;
 *  5. inclusion: the proof leads from that leaf hash to the signed root (RFC 9162 §2.1.3.2); a
 *     truncated, extended or altered proof is refused.
 * With `requireWitnesses` (cosignature/v1 witness vkeys, docs/audit.md "Witness"), step 2 also requires
 * a valid cosignature of each of those witnesses on the checkpoint (RECEIPT_WITNESS_MISSING,
 * RECEIPT_WITNESS_INVALID): the log cannot show this receipt's checkpoint to you and another history to
 * the witness.
 * The receipt is hostile input until step 5 passes: every field is type-checked first.
 */
import { toHex, utf8 } from '@fleetgate/core/bytes';
import { leafHash } from '@fleetgate/core/merkle/hash';
import { rootFromInclusionProof } from '@fleetgate/core/merkle/inclusion';
import { parseCheckpoint } from '@fleetgate/core/note/checkpoint';
import { verifyNote } from '@fleetgate/core/note/signed-note';
import { parseVerifierKey } from '@fleetgate/core/note/verifier-key';
import { verifyCheckpointCosignature } from './witness/cosignature.ts';

export type ReceiptProblemCode =
  | 'RECEIPT_MALFORMED'
  | 'RECEIPT_KEYS_INVALID'
  | 'RECEIPT_SIGNATURE_MISSING'
  | 'RECEIPT_SIGNATURE_INVALID'
  | 'RECEIPT_CHECKPOINT_MISMATCH'
  | 'RECEIPT_LEAF_MISMATCH'
  | 'RECEIPT_PROOF_INVALID'
  | 'RECEIPT_WITNESS_MISSING'
  | 'RECEIPT_WITNESS_INVALID';

export interface ReceiptVerifyOptions {
  /** Witness verifier keys (`name+keyid+base64(0x04 || key)`) whose cosignature is required. */
  requireWitnesses?: readonly string[];
}

export type ReceiptVerification =
  | { ok: true; origin: string; index: number; treeSize: number; entry: unknown }
  | { ok: false; code: ReceiptProblemCode; problem: string };

/** The receipt as GET /v1/audit/receipt/{index} returns it (hashes in standard base64). */
export interface ReceiptJson {
  origin: string;
  index: number;
  treeSize: number;
  entry: string;
  leafHash: string;
  proof: string[];
  checkpoint: string;
}

const fail = (code: ReceiptProblemCode, problem: string): ReceiptVerification => ({
  ok: false,
  code,
  problem,
});

export function verifyAuditReceipt(
  receipt: unknown,
  verifierKeys: readonly string[],
  options: ReceiptVerifyOptions = {},
): ReceiptVerification {
  const r = receipt as Partial<ReceiptJson> | null;
  if (
    r === null ||
    typeof r !== 'object' ||
    typeof r.origin !== 'string' ||
    !Number.isSafeInteger(r.index) ||
    !Number.isSafeInteger(r.treeSize) ||
    typeof r.entry !== 'string' ||
    typeof r.leafHash !== 'string' ||
    !Array.isArray(r.proof) ||
    r.proof.length > 64 ||
    !r.proof.every((p) => typeof p === 'string') ||
    typeof r.checkpoint !== 'string'
  ) {
    return fail('RECEIPT_MALFORMED', 'receipt fields are missing or of the wrong type');
  }
  const { origin, index, treeSize, entry, checkpoint } = r as ReceiptJson;

  // 1. keys
  let keys: ReturnType<typeof parseVerifierKey>[];
  try {
    keys = verifierKeys.map((k) => parseVerifierKey(k.trim()));
  } catch {
    return fail('RECEIPT_KEYS_INVALID', 'a verifier key does not parse');
  }
  const ed = keys.find((k) => k.alg === 'ed25519' && k.name === origin);
  const ml = keys.find((k) => k.alg === 'ml-dsa-65' && k.name === origin);
  if (ed === undefined || ml === undefined) {
    return fail('RECEIPT_KEYS_INVALID', `need an Ed25519 and an ML-DSA-65 key named ${origin}`);
  }

  // 2. signatures: each key on its own, so a stripped one is told apart from a forged one.
  let text = '';
  for (const key of [ed, ml]) {
    try {
      text = verifyNote(checkpoint, [{ name: key.name, publicKey: key.publicKey }]).text;
    } catch {
      return hasKeyId(checkpoint, key.name, key.keyId)
        ? fail('RECEIPT_SIGNATURE_INVALID', `the ${key.alg} checkpoint signature does not verify`)
        : fail('RECEIPT_SIGNATURE_MISSING', `the checkpoint has no ${key.alg} signature`);
    }
  }

  for (const witnessVkey of options.requireWitnesses ?? []) {
    let check: ReturnType<typeof verifyCheckpointCosignature>;
    try {
      check = verifyCheckpointCosignature(checkpoint, witnessVkey);
    } catch {
      return fail('RECEIPT_KEYS_INVALID', 'a witness verifier key does not parse');
    }
    if (!check.ok) {
      return check.reason === 'missing'
        ? fail('RECEIPT_WITNESS_MISSING', 'the checkpoint has no cosignature of a required witness')
        : fail('RECEIPT_WITNESS_INVALID', 'a required witness cosignature does not verify');
    }
  }

  // 3. checkpoint
  let parsed: ReturnType<typeof parseCheckpoint>;
  try {
    parsed = parseCheckpoint(text);
  } catch {
    return fail('RECEIPT_CHECKPOINT_MISMATCH', 'the signed checkpoint body is malformed');
  }
  if (parsed.origin !== origin || parsed.size !== treeSize) {
    return fail('RECEIPT_CHECKPOINT_MISMATCH', 'the signed checkpoint is for another log or size');
  }

  // 4. entry
  let claimed: Uint8Array;
  let proof: Uint8Array[];
  try {
    claimed = fromBase64(r.leafHash as string);
    proof = (r.proof as string[]).map(fromBase64);
  } catch {
    return fail('RECEIPT_MALFORMED', 'a hash is not base64');
  }
  const hash = leafHash(utf8(entry));
  if (toHex(hash) !== toHex(claimed))
    return fail('RECEIPT_LEAF_MISMATCH', 'the entry does not hash to the leaf hash');

  // 5. inclusion
  try {
    const root = rootFromInclusionProof({ index, size: treeSize, leafHash: hash, proof });
    if (toHex(root) !== toHex(parsed.rootHash)) {
      return fail('RECEIPT_PROOF_INVALID', 'the proof does not lead to the signed root');
    }
  } catch (error) {
    return fail('RECEIPT_PROOF_INVALID', (error as Error).message);
  }
  let document: unknown;
  try {
    document = JSON.parse(entry);
  } catch {
    return fail('RECEIPT_MALFORMED', 'the entry is not JSON');
  }
  return { ok: true, origin, index, treeSize, entry: document };
}

function hasKeyId(note: string, name: string, keyId: string): boolean {
  const prefix = `\u2014 ${name} `;
  return note.split('\n').some((line) => {
    if (!line.startsWith(prefix)) return false;
    const raw = Buffer.from(line.slice(prefix.length), 'base64');
    return raw.byteLength >= 4 && raw.subarray(0, 4).toString('hex') === keyId;
  });
}

/** Strict standard base64 (canonical, padded); throws otherwise. */
function fromBase64(text: string): Uint8Array {
  const bytes = Buffer.from(text, 'base64');
  if (bytes.toString('base64') !== text) throw new TypeError('not canonical base64');
  return new Uint8Array(bytes);
}
