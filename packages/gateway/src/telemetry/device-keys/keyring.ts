/**
 * The gateway's view of each vehicle's device keys and signature policy (device_keys,
 * device_signature_policies), parsed once into reusable KeyObjects — parsing per request costs an order
 * of magnitude (ARCHITECTURE.md, performance notes) — and re-read from the store at most every
 * `cacheMs`, so a key registered or revoked on any node (or by the CLI) is in force everywhere within
 * that time. Concurrent requests of one vehicle share one read.
 *
 * The hybrid's Ed25519 half is the connection's certificate key; its ML-DSA-65 half is registered here.
 * Envelopes name the composite key id (core hybridEd25519MlDsa65KeyIdOf), which depends on the
 * certificate key, so it is derived per certificate key and cached beside the set: after a certificate
 * rotation the same registered ML-DSA key pairs with the new certificate key.
 *
 * Fails closed: a stored key that no longer parses, or an HMAC secret that does not unwrap (another
 * gateway's KEK, an altered row), is left out — its signatures are then TELEMETRY_UNKNOWN_KEY — and logged
 * without any key material.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import type { SignatureAlgorithm } from '@fleetgate/core/signature/algorithm';
import { isSignatureAlgorithm } from '@fleetgate/core/signature/algorithm';
import { hmacSha256KeyFromBytes } from '@fleetgate/core/signature/hmac-sha256';
import {
  type HybridEd25519MlDsa65PublicKey,
  hybridEd25519MlDsa65KeyIdOf,
} from '@fleetgate/core/signature/hybrid-ed25519-mldsa65';
import type { Logger } from 'pino';
import type { Queryable } from '../../store/store.ts';
import { type KeyWrappingKey, unwrapSecret } from './kek.ts';

export interface DeviceKeySet {
  readonly vehicleId: string;
  /** The suite every envelope must carry a valid signature of (or the hybrid); null: no policy. */
  readonly requiredAlgorithm: SignatureAlgorithm | null;
  /** Active P-256 public keys by key id. */
  readonly ecdsa: ReadonlyMap<string, KeyObject>;
  /** Active HMAC secrets (unwrapped, as secret KeyObjects) by key id. */
  readonly hmac: ReadonlyMap<string, KeyObject>;
  /** Active hybrid keys by composite key id, for this certificate key (Ed25519). */
  hybridFor(
    certificateKey: KeyObject,
    certificateKeyId: string,
  ): ReadonlyMap<string, HybridEd25519MlDsa65PublicKey>;
}

interface Row {
  key_id: string;
  algorithm: string;
  public_key: Uint8Array | null;
  wrapped_secret: Uint8Array | null;
  kek_id: string | null;
  [key: string]: unknown;
}

interface Cached {
  set: DeviceKeySet;
  loadedAt: number;
}

/** At most this many vehicles' sets are kept (a fleet's worth); the least recently loaded go first. */
const MAX_VEHICLES = 100_000;
const EMPTY = new Map<string, never>();

class KeySet implements DeviceKeySet {
  readonly vehicleId: string;
  readonly requiredAlgorithm: SignatureAlgorithm | null;
  readonly ecdsa: Map<string, KeyObject>;
  readonly hmac: Map<string, KeyObject>;
  readonly #mlDsa65: KeyObject[];
  readonly #hybrid = new Map<string, Map<string, HybridEd25519MlDsa65PublicKey>>();

  constructor(
    vehicleId: string,
    requiredAlgorithm: SignatureAlgorithm | null,
    ecdsa: Map<string, KeyObject>,
    hmac: Map<string, KeyObject>,
    mlDsa65: KeyObject[],
  ) {
    this.vehicleId = vehicleId;
    this.requiredAlgorithm = requiredAlgorithm;
    this.ecdsa = ecdsa;
    this.hmac = hmac;
    this.#mlDsa65 = mlDsa65;
  }

  hybridFor(
    certificateKey: KeyObject,
    certificateKeyId: string,
  ): ReadonlyMap<string, HybridEd25519MlDsa65PublicKey> {
    if (this.#mlDsa65.length === 0 || certificateKey.asymmetricKeyType !== 'ed25519') return EMPTY;
    let byId = this.#hybrid.get(certificateKeyId);
    if (byId === undefined) {
      byId = new Map();
      for (const mlDsa65 of this.#mlDsa65) {
        const key = { ed25519: certificateKey, mlDsa65 };
        byId.set(hybridEd25519MlDsa65KeyIdOf(key), key);
      }
      // A vehicle has one or two certificate keys at a time (rotation overlap); keep a few.
      if (this.#hybrid.size >= 4) this.#hybrid.clear();
      this.#hybrid.set(certificateKeyId, byId);
    }
    return byId;
  }
}

export class DeviceKeyring {
  readonly #db: Queryable;
  readonly #kek: KeyWrappingKey | undefined;
  readonly #cacheMs: number;
  readonly #logger: Logger | undefined;
  readonly #cache = new Map<string, Cached>();
  readonly #loading = new Map<string, Promise<DeviceKeySet>>();

  constructor(options: { db: Queryable; kek?: KeyWrappingKey; cacheMs: number; logger?: Logger }) {
    this.#db = options.db;
    this.#kek = options.kek;
    this.#cacheMs = options.cacheMs;
    this.#logger = options.logger;
  }

  /** The vehicle's current set: cached, or read from the store when older than cacheMs. */
  get(vehicleId: string): DeviceKeySet | Promise<DeviceKeySet> {
    const cached = this.#cache.get(vehicleId);
    if (cached !== undefined && performance.now() - cached.loadedAt < this.#cacheMs) return cached.set;
    let loading = this.#loading.get(vehicleId);
    if (loading === undefined) {
      loading = this.#load(vehicleId).finally(() => this.#loading.delete(vehicleId));
      this.#loading.set(vehicleId, loading);
    }
    return loading;
  }

  /** Forgets cached sets (one vehicle, or all), e.g. right after a registration in this process. */
  invalidate(vehicleId?: string): void {
    if (vehicleId === undefined) this.#cache.clear();
    else this.#cache.delete(vehicleId);
  }

  async #load(vehicleId: string): Promise<DeviceKeySet> {
    const loadedAt = performance.now();
    const rows = await this.#db.query<Row>(
      `SELECT key_id, algorithm, public_key, wrapped_secret, kek_id FROM device_keys
       WHERE vehicle_id = $1 AND status = 'active'`,
      [vehicleId],
    );
    const [policy] = await this.#db.query<{ required_algorithm: string }>(
      'SELECT required_algorithm FROM device_signature_policies WHERE vehicle_id = $1',
      [vehicleId],
    );
    const ecdsa = new Map<string, KeyObject>();
    const hmac = new Map<string, KeyObject>();
    const mlDsa65: KeyObject[] = [];
    for (const row of rows) {
      try {
        if (row.algorithm === 'ecdsa-p256-sha256' && row.public_key !== null) {
          ecdsa.set(
            row.key_id,
            createPublicKey({ key: Buffer.from(row.public_key), format: 'der', type: 'spki' }),
          );
        } else if (row.algorithm === 'ed25519+ml-dsa-65' && row.public_key !== null) {
          const key = createPublicKey({ key: Buffer.from(row.public_key), format: 'der', type: 'spki' });
          if (key.asymmetricKeyType !== 'ml-dsa-65') throw new Error('not an ML-DSA-65 key');
          mlDsa65.push(key);
        } else if (row.algorithm === 'hmac-sha256' && row.wrapped_secret !== null) {
          if (this.#kek === undefined || row.kek_id !== this.#kek.id)
            throw new Error('wrapped under another KEK');
          const secret = unwrapSecret(this.#kek, row.wrapped_secret, { vehicleId, keyId: row.key_id });
          hmac.set(row.key_id, hmacSha256KeyFromBytes(secret));
          secret.fill(0);
        }
      } catch (error) {
        this.#logger?.warn(
          { vehicleId, keyId: row.key_id, algorithm: row.algorithm, reason: (error as Error).message },
          'device key left out',
        );
      }
    }
    const required = policy?.required_algorithm;
    const set = new KeySet(vehicleId, isSignatureAlgorithm(required) ? required : null, ecdsa, hmac, mlDsa65);
    if (this.#cache.size >= MAX_VEHICLES) {
      const oldest = this.#cache.keys().next().value;
      if (oldest !== undefined) this.#cache.delete(oldest);
    }
    this.#cache.delete(vehicleId);
    this.#cache.set(vehicleId, { set, loadedAt });
    return set;
  }
}
