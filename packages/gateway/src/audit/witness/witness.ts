/**
 * The witness's add-checkpoint decision (C2SP tlog-witness, https://c2sp.org/tlog-witness), apart from
 * HTTP so it can be tested and read as the spec: given a request body, verify and cosign, or refuse.
 *
 * Steps, in the spec's order, each refusal with its status and a stable code (WitnessRefusalCode):
 *  1. body: "old N", up to 63 proof lines, empty line, a signed note whose text is a checkpoint
 *     (400 WITNESS_BODY_MALFORMED);
 *  2. origin: a log this witness is configured for (404 WITNESS_UNKNOWN_LOG);
 *  3. signatures: BOTH of the log's keys — Ed25519 and ML-DSA-65 — verify over the received bytes, as
 *     fleetgate's own verifiers require; a failing signature of a known key, or none, is
 *     403 WITNESS_SIGNATURE_INVALID, one of the two stripped 403 WITNESS_SIGNATURE_MISSING (hybrid
 *     downgrade);
 *  4. old size <= checkpoint size (400 WITNESS_OLD_SIZE_PAST_CHECKPOINT); a proof with old size 0 must
 *     be empty (400 WITNESS_BODY_MALFORMED);
 *  then, with the origin's lock held (the check and the write are atomic):
 *  5. old size equals the size this witness last cosigned (0 on first contact, and after cosigning the
 *     empty tree: size 0 commits to nothing, so it is treated as first contact), else
 *     409 WITNESS_OLD_SIZE_MISMATCH with that size (text/x.tlog.size) — a rewind, or a stale client;
 *  6. same size: the roots must be equal, else 409 WITNESS_ROOT_MISMATCH (a fork); larger size: the
 *     RFC 6962 consistency proof from the stored root to the new one must verify, else
 *     422 WITNESS_PROOF_INVALID (a fork, or a bad proof);
 *  7. persist (fsync) the new checkpoint, then answer 200 with one cosignature/v1 line.
 */
import type { KeyObject } from 'node:crypto';
import { verifyConsistency } from '@fleetgate/core/merkle/consistency';
import { type Checkpoint, parseCheckpoint } from '@fleetgate/core/note/checkpoint';
import { verifyNote } from '@fleetgate/core/note/signed-note';
import { type NoteVerifierKey, parseVerifierKey } from '@fleetgate/core/note/verifier-key';
import { AddCheckpointBodyError, parseAddCheckpointBody } from './add-checkpoint-body.ts';
import { cosign } from './cosignature.ts';
import type { WitnessIdentity } from './identity.ts';
import type { WitnessStateStore } from './state.ts';

export type WitnessRefusalCode =
  | 'WITNESS_BODY_MALFORMED'
  | 'WITNESS_BODY_TOO_LARGE'
  | 'WITNESS_UNKNOWN_LOG'
  | 'WITNESS_SIGNATURE_INVALID'
  | 'WITNESS_SIGNATURE_MISSING'
  | 'WITNESS_OLD_SIZE_PAST_CHECKPOINT'
  | 'WITNESS_OLD_SIZE_MISMATCH'
  | 'WITNESS_ROOT_MISMATCH'
  | 'WITNESS_PROOF_INVALID'
  | 'WITNESS_NOT_FOUND'
  | 'WITNESS_METHOD_NOT_ALLOWED'
  | 'WITNESS_INTERNAL';

export interface WitnessResponse {
  status: number;
  /** 'OK' when cosigned. */
  code: 'OK' | WitnessRefusalCode;
  contentType: string;
  body: string;
  /** Log context for the refusal (never a key or a signature). */
  detail?: string;
  origin?: string;
  size?: number;
}

export const TLOG_SIZE_TYPE = 'text/x.tlog.size';
const TEXT = 'text/plain; charset=utf-8';

/** A log the witness follows: its origin and its two verifier keys (the log's vkey.txt). */
export interface WitnessedLog {
  origin: string;
  ed25519: NoteVerifierKey;
  mlDsa65: NoteVerifierKey;
}

/** Builds a WitnessedLog from the log's verifier keys (GET /v1/audit/vkey, pinned out of band). */
export function witnessedLogFromVkeys(vkeys: readonly string[]): WitnessedLog {
  const keys = vkeys
    .map((k) => k.trim())
    .filter((k) => k !== '')
    .map((k) => parseVerifierKey(k));
  const ed25519 = keys.find((k) => k.alg === 'ed25519');
  const mlDsa65 = keys.find((k) => k.alg === 'ml-dsa-65');
  if (keys.length !== 2 || ed25519 === undefined || mlDsa65 === undefined) {
    throw new Error('a log needs exactly two verifier keys: one Ed25519 and one ML-DSA-65');
  }
  if (ed25519.name !== mlDsa65.name) throw new Error('the two verifier keys of a log must share its origin');
  return { origin: ed25519.name, ed25519, mlDsa65 };
}

export interface WitnessOptions {
  identity: WitnessIdentity;
  logs: readonly WitnessedLog[];
  state: WitnessStateStore;
  now?: () => Date;
}

export class Witness {
  readonly #name: string;
  readonly #key: KeyObject;
  readonly #logs: Map<string, WitnessedLog>;
  readonly #state: WitnessStateStore;
  readonly #now: () => Date;

  constructor(options: WitnessOptions) {
    this.#name = options.identity.name;
    this.#key = options.identity.privateKey;
    this.#logs = new Map(options.logs.map((l) => [l.origin, l]));
    if (this.#logs.size !== options.logs.length) throw new Error('a log origin is configured twice');
    this.#state = options.state;
    this.#now = options.now ?? (() => new Date());
  }

  async addCheckpoint(bytes: Uint8Array): Promise<WitnessResponse> {
    // 1. body
    let oldSize: number;
    let proof: Uint8Array[];
    let note: string;
    let text: string;
    let checkpoint: Checkpoint;
    try {
      ({ oldSize, proof, note } = parseAddCheckpointBody(bytes));
      const split = note.lastIndexOf('\n\n');
      if (split < 0) throw new AddCheckpointBodyError('the checkpoint has no signature block');
      text = note.slice(0, split + 1);
      checkpoint = parseCheckpoint(text);
    } catch (error) {
      return refuse(400, 'WITNESS_BODY_MALFORMED', (error as Error).message);
    }
    const ctx = { origin: checkpoint.origin, size: checkpoint.size };

    // 2. origin
    const log = this.#logs.get(checkpoint.origin);
    if (log === undefined) return refuse(404, 'WITNESS_UNKNOWN_LOG', 'unknown origin', ctx);

    // 3. both signatures, over the exact bytes received
    try {
      const verified = verifyNote(note, [
        { name: log.origin, publicKey: log.ed25519.publicKey },
        { name: log.origin, publicKey: log.mlDsa65.publicKey },
      ]);
      const algs = new Set(verified.verifiedKeys.map((k) => k.alg));
      if (!algs.has('ed25519') || !algs.has('ml-dsa-65')) {
        return refuse(403, 'WITNESS_SIGNATURE_MISSING', 'one of the two log signatures is missing', ctx);
      }
      if (verified.text !== text) throw new Error('verified text differs');
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code === 'CORE_NOTE_MALFORMED') {
        return refuse(400, 'WITNESS_BODY_MALFORMED', 'the signed note is malformed', ctx);
      }
      return refuse(403, 'WITNESS_SIGNATURE_INVALID', 'no valid signature of the log', ctx);
    }

    // 4. sizes and proof shape
    if (oldSize > checkpoint.size) {
      return refuse(400, 'WITNESS_OLD_SIZE_PAST_CHECKPOINT', `old size ${oldSize} > checkpoint size`, ctx);
    }
    if (oldSize === 0 && proof.length > 0) {
      return refuse(400, 'WITNESS_BODY_MALFORMED', 'a proof from size 0 must be empty', ctx);
    }

    // 5-7 under the origin's lock
    return this.#state.withLock(log.origin, () => {
      // A stored size 0 is the empty tree (root SHA-256 of nothing): every tree extends it, and RFC 9162
      // has no consistency proof from size 0 (verifyConsistency refuses size1 = 0), so it counts as first
      // contact — otherwise every later "old 0" request would fail 422 for ever.
      const held = this.#state.get(log.origin);
      const stored = held !== null && held.size === 0 && checkpoint.size > 0 ? null : held;
      const storedSize = stored?.size ?? 0;
      if (oldSize !== storedSize) {
        return {
          ...refuse(409, 'WITNESS_OLD_SIZE_MISMATCH', `old size ${oldSize}, cosigned ${storedSize}`, ctx),
          contentType: TLOG_SIZE_TYPE,
          body: `${storedSize}\n`,
        };
      }
      if (stored !== null && stored.size === checkpoint.size) {
        if (!Buffer.from(stored.rootHash).equals(Buffer.from(checkpoint.rootHash))) {
          return {
            ...refuse(409, 'WITNESS_ROOT_MISMATCH', 'same size, different root: a fork', ctx),
            contentType: TLOG_SIZE_TYPE,
            body: `${storedSize}\n`,
          };
        }
        if (proof.length > 0) return refuse(422, 'WITNESS_PROOF_INVALID', 'equal sizes need no proof', ctx);
      } else if (stored !== null) {
        const consistent = verifyConsistency({
          size1: stored.size,
          size2: checkpoint.size,
          root1: stored.rootHash,
          root2: checkpoint.rootHash,
          proof,
        });
        if (!consistent) {
          return refuse(422, 'WITNESS_PROOF_INVALID', `no consistency from ${stored.size}`, ctx);
        }
      }
      const now = this.#now();
      const timestamp = BigInt(Math.floor(now.getTime() / 1000));
      const line = cosign(text, this.#name, this.#key, timestamp);
      if (stored === null || stored.size !== checkpoint.size) {
        try {
          this.#state.put({
            origin: log.origin,
            size: checkpoint.size,
            rootHash: checkpoint.rootHash,
            note,
            cosignedAt: now.toISOString(),
          });
        } catch (error) {
          return refuse(500, 'WITNESS_INTERNAL', `state not persisted: ${(error as Error).message}`, ctx);
        }
      }
      return { status: 200, code: 'OK', contentType: TEXT, body: line, ...ctx };
    });
  }
}

export function refuse(
  status: number,
  code: WitnessRefusalCode,
  detail: string,
  ctx: { origin?: string; size?: number } = {},
): WitnessResponse {
  return { status, code, contentType: TEXT, body: `${code}\n`, detail, ...ctx };
}
