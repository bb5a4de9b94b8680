/**
 * Publishes the issuing CA's CRL (RFC 5280 §5) and keeps it fresh:
 *   - reissued whenever the revoked entries differ from the ones the stored CRL lists (every
 *     revocation, seen in-process or by the poll), and before nextUpdate — at `reissueSeconds` after
 *     thisUpdate (default 30 min of a 1 h validity), so a relying party never holds an expired list;
 *   - numbered from the store (`crl_state`, migration 003): the row is locked while signing, so CRL
 *     numbers strictly increase across gateway nodes and the CLI, and each change is signed once;
 *   - handed to crl-files.ts (DIR/pki/crl.der, crl.pem for Mosquitto's `crlfile`) and served from
 *     memory on the public listener.
 * A process without the CA key (`ca` undefined) still returns the latest stored CRL, to publish.
 *
 * Entries: every revoked certificate of this issuer that has not expired (§5: a CRL MAY drop an entry
 * once the certificate expires; relying parties refuse expired certificates anyway).
 *
 * Threats: a stale CRL (reissue margin; the `fleetgate_crl_age_seconds` metric); two CRLs with one
 * number or a number going backwards (store lock); a torn file read by Mosquitto mid-write (atomic
 * rename, crl-files.ts); a reissue that misses a concurrent revocation (entries are read after taking the lock).
 */
import type { X509Certificate } from 'node:crypto';
import { toHex, utf8 } from '@fleetgate/core/bytes';
import { sha256 } from '@fleetgate/core/hash';
import type { AuditLog } from '../../audit/log.ts';
import { type Queryable, type Store, toBigInt } from '../../store/store.ts';
import type { IssuingCa } from '../ca.ts';
import { thumbprintOf } from '../inventory.ts';
import { type CrlEntry, signCrl } from './crl.ts';
import { crlPem } from './crl-files.ts';
import { storedReason } from './reasons.ts';

export interface CrlDocument {
  readonly der: Uint8Array;
  readonly pem: string;
  readonly crlNumber: bigint;
  readonly thisUpdate: Date;
  readonly nextUpdate: Date;
}

export interface CrlPublisherOptions {
  readonly store: Store;
  readonly audit: AuditLog;
  /** The issuing CA's certificate (DIR/pki/intermediate/cert.pem). */
  readonly issuer: X509Certificate;
  /** The issuing CA, to sign; undefined in a process that only publishes what the store holds. */
  readonly ca: IssuingCa | undefined;
  readonly now: () => Date;
  /** nextUpdate - thisUpdate. */
  readonly validitySeconds: number;
  /** Reissue this long after thisUpdate even without a change (less than validitySeconds). */
  readonly reissueSeconds: number;
}

interface StateRow {
  crl_number: unknown;
  this_update: Date | null;
  next_update: Date | null;
  entries_digest: string | null;
  der: Uint8Array | null;
  [key: string]: unknown;
}

interface EntryRow {
  serial_number: string;
  revoked_at: Date | null;
  revocation_reason: string | null;
  [key: string]: unknown;
}

function toDocument(row: StateRow): CrlDocument | undefined {
  if (row.der === null || row.this_update === null || row.next_update === null) return undefined;
  const der = new Uint8Array(row.der);
  return {
    der,
    pem: crlPem(der),
    crlNumber: toBigInt(row.crl_number),
    thisUpdate: row.this_update,
    nextUpdate: row.next_update,
  };
}

export class CrlPublisher {
  readonly #options: CrlPublisherOptions;
  readonly #issuerSha256: string;
  #latest: CrlDocument | undefined;
  #running: Promise<CrlDocument | undefined> | undefined;
  #next: Promise<CrlDocument | undefined> | undefined;

  constructor(options: CrlPublisherOptions) {
    if (!(options.reissueSeconds > 0 && options.reissueSeconds < options.validitySeconds)) {
      throw new RangeError('reissueSeconds must be positive and below validitySeconds');
    }
    this.#options = options;
    this.#issuerSha256 = thumbprintOf(options.issuer);
  }

  /** The CRL last published or loaded, if any. */
  latest(): CrlDocument | undefined {
    return this.#latest;
  }

  /** SHA-256 thumbprint of the issuer certificate, the key of its `crl_state` row. */
  get issuerSha256(): string {
    return this.#issuerSha256;
  }

  /**
   * Reissues the CRL if it is missing, out of date or due; returns the current one. The answer reflects
   * every revocation committed before the call: a call during a run waits for it and starts one more
   * (shared by every caller that arrives meanwhile), because the running one may have read the entries
   * before that revocation.
   */
  publish(): Promise<CrlDocument | undefined> {
    if (this.#running === undefined) {
      this.#running = this.#publish().finally(() => {
        this.#running = undefined;
      });
      return this.#running;
    }
    this.#next ??= this.#running
      .catch(() => undefined)
      .then(() => {
        this.#next = undefined;
        return this.publish();
      });
    return this.#next;
  }

  async #publish(): Promise<CrlDocument | undefined> {
    const doc = await this.#options.store.transaction((tx) => this.#reissueInTx(tx));
    if (doc !== undefined) this.#latest = doc;
    return doc;
  }

  async #reissueInTx(tx: Queryable): Promise<CrlDocument | undefined> {
    const { ca, now: clock, validitySeconds, reissueSeconds } = this.#options;
    await tx.query('INSERT INTO crl_state (issuer_sha256) VALUES ($1) ON CONFLICT DO NOTHING', [
      this.#issuerSha256,
    ]);
    const [state] = await tx.query<StateRow>(
      `SELECT crl_number, this_update, next_update, entries_digest, der FROM crl_state
        WHERE issuer_sha256 = $1 FOR UPDATE`,
      [this.#issuerSha256],
    );
    if (state === undefined) return undefined;
    const stored = toDocument(state);
    if (ca === undefined) return stored;

    const now = new Date(Math.floor(clock().getTime() / 1000) * 1000);
    // Read under the lock: a revocation committed by another node before we got it is included.
    const rows = await tx.query<EntryRow>(
      `SELECT serial_number, revoked_at, revocation_reason FROM certificates
        WHERE issuer_sha256 = $1 AND status = 'revoked' AND not_after > $2 ORDER BY serial_number`,
      [this.#issuerSha256, now],
    );
    const entries: CrlEntry[] = rows.map((r) => ({
      serialNumber: r.serial_number,
      revokedAt: r.revoked_at ?? now,
      reason: storedReason(r.revocation_reason),
    }));
    const digest = toHex(
      sha256(
        utf8(entries.map((e) => `${e.serialNumber} ${e.revokedAt.toISOString()} ${e.reason}`).join('\n')),
      ),
    );
    const due =
      stored === undefined ||
      state.entries_digest !== digest ||
      now.getTime() >= stored.thisUpdate.getTime() + reissueSeconds * 1000 ||
      now.getTime() < stored.thisUpdate.getTime(); // a clock that went back: never publish "from the future"
    if (!due) return stored;

    const crlNumber = toBigInt(state.crl_number) + 1n;
    const nextUpdate = new Date(now.getTime() + validitySeconds * 1000);
    const der = await signCrl(ca, { crlNumber, thisUpdate: now, nextUpdate, entries });
    await tx.query(
      `UPDATE crl_state SET crl_number = $2, this_update = $3, next_update = $4, entries_digest = $5, der = $6
        WHERE issuer_sha256 = $1`,
      [this.#issuerSha256, String(crlNumber), now, nextUpdate, digest, der],
    );
    await this.#options.audit.appendInTx(tx, {
      class: 'pki.crl.issued',
      actor: { kind: 'system', id: 'crl-publisher' },
      subject: { kind: 'crl', id: crlNumber.toString() },
      outcome: 'recorded',
      details: {
        issuerSha256: this.#issuerSha256,
        crlSha256: toHex(sha256(der)),
        entries: entries.length,
        thisUpdate: now.toISOString(),
        nextUpdate: nextUpdate.toISOString(),
      },
    });
    return { der, pem: crlPem(der), crlNumber, thisUpdate: now, nextUpdate };
  }
}
