/**
 * The vehicle clock-skew flag (issue 5 "Time"; docs/telemetry.md "Time"): a signed batch whose sent_at
 * is further than `clockSkewWarnSeconds` from server time — but within telemetry.maxClockSkewSeconds, or
 * it is refused as TELEMETRY_CLOCK_SKEW — raises the vehicle's `clock_skew` flag without refusing the
 * batch; one within half the threshold clears it (hysteresis, so jitter around the threshold does not
 * flap). A drifting clock is an early sign of a failing GNSS receiver, a tampered time source or a
 * replayed spool, and it skews positions, ETAs and the skew-based refusal itself.
 *
 * Each transition is written once across every gateway node: the row changes only if it is in the other
 * state (conditional upsert / update … WHERE), and only the transaction that changed it sequences the
 * `telemetry.vehicle-flag.raised|cleared` audit entry and counts the transition metric. A node that is
 * behind (another node already raised it) learns the state and writes nothing. Per node, the known state
 * is cached, so a steady vehicle costs no query; the first batch of a vehicle on a node costs one.
 */
import type { Logger } from 'pino';
import type { AuditLog } from '../audit/log.ts';
import type { PeerIdentity } from '../pki/peer-identity.ts';
import type { Store } from '../store/store.ts';
import type { TelemetryMetrics } from './metrics.ts';

export const CLOCK_SKEW_FLAG = 'clock_skew';

export interface ClockSkewFlagOptions {
  store: Store;
  audit: AuditLog;
  warnSeconds: number;
  now: () => Date;
  metrics?: TelemetryMetrics;
  logger?: Logger;
}

export class ClockSkewFlags {
  readonly #o: ClockSkewFlagOptions;
  readonly #active = new Map<string, boolean>();
  readonly #inFlight = new Map<string, Promise<void>>();

  constructor(options: ClockSkewFlagOptions) {
    this.#o = options;
  }

  /** Notes one signed batch's skew (sent_at − now, ms); writes a transition when there is one. */
  observe(identity: PeerIdentity, skewMs: number): Promise<void> | undefined {
    const warnMs = this.#o.warnSeconds * 1000;
    const skew = Math.abs(skewMs);
    const known = this.#active.get(identity.id);
    const raise = skew > warnMs && known !== true;
    const clear = skew <= warnMs / 2 && known !== false;
    if (!raise && !clear) return undefined;
    const running = this.#inFlight.get(identity.id);
    if (running !== undefined) return running;
    const transition = this.#transition(identity, raise, skewMs).finally(() =>
      this.#inFlight.delete(identity.id),
    );
    this.#inFlight.set(identity.id, transition);
    return transition;
  }

  async #transition(identity: PeerIdentity, raise: boolean, skewMs: number): Promise<void> {
    const detail = `skew ${Math.round(skewMs)} ms (warning at ${this.#o.warnSeconds} s)`;
    const changed = await this.#o.store.transaction(async (tx) => {
      const rows = raise
        ? await tx.query(
            `INSERT INTO vehicle_flags (vehicle_id, flag, active, detail, changed_at) VALUES ($1, $2, true, $3, $4)
             ON CONFLICT (vehicle_id, flag) DO UPDATE
               SET active = true, detail = EXCLUDED.detail, changed_at = EXCLUDED.changed_at, audit_index = NULL
               WHERE vehicle_flags.active = false
             RETURNING vehicle_id`,
            [identity.id, CLOCK_SKEW_FLAG, detail, this.#o.now()],
          )
        : await tx.query(
            `UPDATE vehicle_flags SET active = false, detail = $3, changed_at = $4, audit_index = NULL
             WHERE vehicle_id = $1 AND flag = $2 AND active RETURNING vehicle_id`,
            [identity.id, CLOCK_SKEW_FLAG, detail, this.#o.now()],
          );
      if (rows.length === 0) return false;
      const receipt = await this.#o.audit.appendInTx(tx, {
        class: raise ? 'telemetry.vehicle-flag.raised' : 'telemetry.vehicle-flag.cleared',
        actor: { kind: 'vehicle', id: identity.id, certSha256: identity.thumbprintSha256 },
        subject: { kind: 'vehicle-flag', id: `${identity.id}/${CLOCK_SKEW_FLAG}` },
        outcome: 'recorded',
        reasons: raise ? ['CLOCK_SKEW_WARNING'] : [],
        details: { skewMs: Math.round(skewMs), warnSeconds: this.#o.warnSeconds },
      });
      await tx.query('UPDATE vehicle_flags SET audit_index = $3 WHERE vehicle_id = $1 AND flag = $2', [
        identity.id,
        CLOCK_SKEW_FLAG,
        String(receipt.index),
      ]);
      return true;
    });
    this.#active.set(identity.id, raise);
    if (changed) {
      this.#o.metrics?.flagTransitions.inc({
        flag: CLOCK_SKEW_FLAG,
        transition: raise ? 'raised' : 'cleared',
      });
      this.#o.logger?.info(
        { vehicleId: identity.id, flag: CLOCK_SKEW_FLAG, raised: raise, skewMs },
        'vehicle flag changed',
      );
    }
  }
}
