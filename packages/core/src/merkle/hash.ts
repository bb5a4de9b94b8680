/**
 * RFC 9162 §2.1.1 hashing for the audit log's Merkle tree, with the leaf/node domain separation that
 * keeps a leaf from being passed off as an interior node (second-preimage attack, RFC 9162 §2.1.1):
 *
 *   leaf hash  = SHA-256(0x00 || entry)
 *   node hash  = SHA-256(0x01 || left || right)
 *   empty tree = SHA-256("")
 *
 * The empty root is handed out as a fresh copy from a function, not as an exported Uint8Array
 * constant: a typed array cannot be frozen, and one consumer writing into a shared constant would
 * silently change every later root computed against it.
 */
import { toHex } from '../bytes.ts';
import { CoreError } from '../errors.ts';
import { sha256 } from '../hash.ts';

/** Every hash in the tree is a SHA-256 output. */
export const HASH_SIZE = 32;

const LEAF_PREFIX = new Uint8Array([0x00]);
const NODE_PREFIX = new Uint8Array([0x01]);
const EMPTY_ROOT_BYTES = sha256();

/** Lower-case hex of SHA-256(""), the root of the tree of size 0. */
export const EMPTY_ROOT_HEX: string = toHex(EMPTY_ROOT_BYTES);

/** The root of the empty tree, SHA-256(""); a fresh copy on every call. */
export function emptyRoot(): Uint8Array {
  return EMPTY_ROOT_BYTES.slice();
}

/** RFC 9162 §2.1.1: MTH({d(0)}) = HASH(0x00 || d(0)). `entry` is the raw leaf input, of any length. */
export function leafHash(entry: Uint8Array): Uint8Array {
  if (!(entry instanceof Uint8Array))
    throw new CoreError('CORE_INVALID_ARGUMENT', 'leaf entry must be bytes');
  return sha256(LEAF_PREFIX, entry);
}

/**
 * RFC 9162 §2.1.1: HASH(0x01 || left || right). Both children must be 32-byte hashes: accepting other
 * lengths would let two different pairs of children concatenate to the same preimage.
 */
export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  if (!isHash(left) || !isHash(right)) {
    throw new CoreError('CORE_INVALID_ARGUMENT', `node children must be ${HASH_SIZE}-byte hashes`);
  }
  return sha256(NODE_PREFIX, left, right);
}

/** True when `value` is a Uint8Array of exactly HASH_SIZE bytes. */
export function isHash(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array && value.byteLength === HASH_SIZE;
}
