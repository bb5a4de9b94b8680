/**
 * Publishes the issuing CA's CRL (RFC 5280 §5) and keeps it fresh:
 *   - reissued whenever the revoked entries differ from the ones the stored CRL lists (every
 *     revocation, seen in-process or by the poll), and before nextUpdate — at `reissueSeconds` after
 *     thisUpdate (default 30 min of a 1 h validity), so a relying party never holds an expired list;
 *   - numbered from the store (`crl_state`, migration 003): the row is locked while signing, so CRL
 *     numbers strictly increase across gateway nodes and the CLI, and each change is signed once;
 *   - written atomically (temporary file, fsync, rename) to DIR/pki/crl.der and DIR/pki/crl.pem (the
 *     PEM is what Mosquitto's `crlfile` reads), and served from memory on the public listener.
 * A process without the CA key (`ca` undefined) still copies the latest stored CRL to its files.
 *
 * Entries: every revoked certificate of this issuer that has not expired (§5: a CRL MAY drop an entry
 * once the certificate expires; relying parties refuse expired certificates anyway).
 *
 * Threats: a stale CRL (reissue margin; the `fleetgate_crl_age_seconds` metric); two CRLs with one
 * number or a number going backwards (store lock); a torn file read by Mosquitto mid-write (atomic
 * rename); a reissue that misses a concurrent revocation (entries are read after taking the lock).
 */
import { randomBytes, type X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { toHex, utf8 } from '@fleetgate/core/bytes';
import { sha256 } from '@fleetgate/core/hash';
import type { AuditLog } from '../../audit/log.ts';
import { type Queryable, type Store, toBigInt } from '../../store/store.ts';
import type { IssuingCa } from '../ca.ts';
import { PUBLIC_FILE_MODE } from '../internal/files.ts';
import { pkiRoot } from '../internal/layout.ts';
import { thumbprintOf } from '../inventory.ts';
import { type CrlEntry, signCrl } from './crl.ts';
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
  readonly dataDir: string;
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

export function crlPaths(dataDir: string): { der: string; pem: string } {
  const dir = pkiRoot(dataDir);
  return { der: join(dir, 'crl.der'), pem: join(dir, 'crl.pem') };
}

export function crlPem(der: Uint8Array): string {
  const lines = Buffer.from(der).toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN X509 CRL-----\n${lines.join('\n')}\n-----END X509 CRL-----\n`;
}

/** Atomically replaces `path` with `data` (temporary file, fsync, rename, fsync of the folder). */
async function writeAtomic(path: string, data: Uint8Array | string, mode: number): Promise<void> {
  const temporary = `${path}.${randomBytes(8).toString('hex')}.tmp`;
  try {
    const handle = await open(temporary, 'wx', mode);
    try {
      await handle.chmod(mode);
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
  const folder = await open(dirname(path), 'r');
  try {
    await folder.sync();
  } finally {
    await folder.close();
  }
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
  #written: bigint | undefined;
  #running: Promise<CrlDocument | undefined> | undefined;

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

  /** Reissues the CRL if it is missing, out of date or due, and writes the files. Runs are shared. */
  publish(): Promise<CrlDocument | undefined> {
    this.#running ??= this.#publish().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #publish(): Promise<CrlDocument | undefined> {
    const doc = await this.#options.store.transaction((tx) => this.#reissueInTx(tx));
    if (doc === undefined) return undefined;
    this.#latest = doc;
    const paths = crlPaths(this.#options.dataDir);
    if (this.#written !== doc.crlNumber || !existsSync(paths.der) || !existsSync(paths.pem)) {
      await writeAtomic(paths.der, doc.der, PUBLIC_FILE_MODE);
      await writeAtomic(paths.pem, doc.pem, PUBLIC_FILE_MODE);
      this.#written = doc.crlNumber;
    }
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
      sha256(utf8(entries.map((e) => `${e.serialNumber} ${e.revokedAt.toISOString()} ${e.reason}`).join('\n'))),
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
