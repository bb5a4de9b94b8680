/**
 * Stateless DPoP server nonces (RFC 9449 §8 and §9): nonce = base64url(slot ‖ HMAC-SHA256(key, label ‖
 * slot)[0..16]) where slot = floor(now / slotSeconds). A nonce is accepted in its own slot and the next
 * one, so it lives between one and two slots. The key (32 random bytes) is DIR/pki/oauth/dpop-nonce.key
 * (0600): every gateway node on one data directory or one copied key accepts every other node's nonces
 * without shared state.
 *
 * Threat: pre-computed DPoP proofs (a stolen key used later, RFC 9449 §11.1) — a proof must carry a
 * nonce the server issued recently; the MAC makes nonces unforgeable and the slot makes them expire.
 * Compared in constant time.
 */
import { createHmac, createSecretKey, type KeyObject, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AuthServerError } from './errors.ts';
import { oauthKeyDir } from './signing-key.ts';

const LABEL = 'fleetgate-dpop-nonce-v1';
const MAC_BYTES = 16;
const SLOT_BYTES = 6;
/** base64url of 6 + 16 bytes. */
const NONCE_PATTERN = /^[A-Za-z0-9_-]{30}$/;

export class DpopNonces {
  readonly #key: KeyObject;
  readonly #slotMs: number;
  readonly #now: () => Date;

  constructor(key: KeyObject, slotSeconds: number, now: () => Date) {
    this.#key = key;
    this.#slotMs = slotSeconds * 1000;
    this.#now = now;
  }

  #slot(): number {
    return Math.floor(this.#now().getTime() / this.#slotMs);
  }

  #mac(slotBytes: Buffer): Buffer {
    return createHmac('sha256', this.#key).update(LABEL).update(slotBytes).digest().subarray(0, MAC_BYTES);
  }

  /** A nonce for the current slot. */
  issue(): string {
    const slot = Buffer.alloc(SLOT_BYTES);
    slot.writeUIntBE(this.#slot(), 0, SLOT_BYTES);
    return Buffer.concat([slot, this.#mac(slot)]).toString('base64url');
  }

  /** True when `nonce` was issued by a holder of the key in this slot or the previous one. */
  verify(nonce: unknown): boolean {
    if (typeof nonce !== 'string' || !NONCE_PATTERN.test(nonce)) return false;
    const bytes = Buffer.from(nonce, 'base64url');
    if (bytes.length !== SLOT_BYTES + MAC_BYTES) return false;
    const slotBytes = bytes.subarray(0, SLOT_BYTES);
    const slot = slotBytes.readUIntBE(0, SLOT_BYTES);
    const current = this.#slot();
    if (slot !== current && slot !== current - 1) return false;
    return timingSafeEqual(bytes.subarray(SLOT_BYTES), this.#mac(Buffer.from(slotBytes)));
  }
}

/** Loads DIR/pki/oauth/dpop-nonce.key, creating it (0600) on first use. */
export function ensureDpopNonceKey(dataDir: string): KeyObject {
  const dir = oauthKeyDir(dataDir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, 'dpop-nonce.key');
  if (!existsSync(path)) {
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, `${randomBytes(32).toString('base64url')}\n`, { mode: 0o600 });
    chmodSync(tmp, 0o600);
    renameSync(tmp, path);
  }
  if ((statSync(path).mode & 0o077) !== 0) {
    throw new AuthServerError('AS_KEY_UNAVAILABLE', 'the DPoP nonce key file is readable by others');
  }
  const key = Buffer.from(readFileSync(path, 'utf8').trim(), 'base64url');
  if (key.length !== 32)
    throw new AuthServerError('AS_KEY_UNAVAILABLE', 'the DPoP nonce key is not 32 bytes');
  return createSecretKey(key);
}
