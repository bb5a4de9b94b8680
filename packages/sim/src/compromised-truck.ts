/**
 * A compromised or faulty truck, for the demo and tests: it holds a valid certificate and key, sends
 * some legitimate batches, and in between tries the attacks telemetry integrity exists to stop — a
 * replayed envelope, a payload altered after signing, a batch claiming another truck's identity. Each
 * attempt is real (real signatures over real bytes) and should be refused with a specific code.
 */
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { keyIdOf } from '@fleetgate/core/signature/ed25519';
import { DurableCounter } from '@fleetgate/edge/counter';
import { signEnvelope } from '@fleetgate/edge/signer';
import { HttpsTransport } from '@fleetgate/edge/transport/https';
import {
  DrivingState,
  decodeEnvelope,
  encodeBatch,
  encodeEnvelope,
  TELEMETRY_PAYLOAD_TYPE,
} from '@fleetgate/protocol/telemetry';
import type { VehicleCredentials } from './fleet.ts';
import { HUBS } from './geo.ts';

export type Attack = 'legitimate' | 'replay' | 'tamper' | 'impersonate';

export interface AttackStats {
  attempts: Record<Attack, number>;
  /** Refusal codes the gateway answered, by attack. */
  refusals: Record<string, number>;
  /** Attacks the gateway accepted: must stay 0. */
  undetected: number;
}

export class CompromisedTruck {
  readonly vehicleId: string;
  readonly stats: AttackStats = {
    attempts: { legitimate: 0, replay: 0, tamper: 0, impersonate: 0 },
    refusals: {},
    undetected: 0,
  };
  readonly #victimId: string;
  readonly #privateKey: KeyObject;
  readonly #keyId: string;
  readonly #counter: DurableCounter;
  readonly #transport: HttpsTransport;
  #lastAccepted: Uint8Array | undefined;
  #round = 0;
  #sequence = 1n;
  #timer: NodeJS.Timeout | undefined;
  #inFlight: Promise<void> = Promise.resolve();

  constructor(options: {
    vehicleId: string;
    victimId: string;
    credentials: VehicleCredentials;
    baseUrl: string;
    stateDir: string;
  }) {
    this.vehicleId = options.vehicleId;
    this.#victimId = options.victimId;
    this.#privateKey = createPrivateKey(options.credentials.key);
    this.#keyId = keyIdOf(createPublicKey(this.#privateKey));
    mkdirSync(join(options.stateDir, options.vehicleId), { recursive: true, mode: 0o700 });
    this.#counter = DurableCounter.open(join(options.stateDir, options.vehicleId, 'envelope-counter'));
    this.#transport = new HttpsTransport({
      url: options.baseUrl,
      cert: options.credentials.chain,
      key: options.credentials.key,
      ca: options.credentials.ca,
    });
  }

  #batch(
    vehicleId: string,
    now: number,
    latitudeShift = 0,
    firstSequence = this.#takeSequence(),
  ): Uint8Array {
    return encodeBatch({
      vehicleId,
      loadId: `LOAD-${this.vehicleId}`,
      firstSequence,
      sentAtUnixMs: BigInt(now),
      records: [
        {
          timeUnixMs: BigInt(now),
          latitude: HUBS.dallas.lat + latitudeShift,
          longitude: HUBS.dallas.lon,
          speedMps: 0,
          headingDeg: 0,
          odometerM: 0,
          drivingState: DrivingState.MINIMAL_RISK_CONDITION,
          faults: ['SENSOR_DEGRADED'],
        },
      ],
    });
  }

  #takeSequence(): bigint {
    const value = this.#sequence;
    this.#sequence += 1n;
    return value;
  }

  #sign(payload: Uint8Array): Uint8Array {
    return signEnvelope({
      payload,
      payloadType: TELEMETRY_PAYLOAD_TYPE,
      counter: this.#counter.next(),
      privateKey: this.#privateKey,
      keyId: this.#keyId,
    });
  }

  /** One round: a legitimate batch, then one attack in turn. */
  async round(now = Date.now()): Promise<void> {
    const attacks: Attack[] = ['replay', 'tamper', 'impersonate'];
    await this.#attempt('legitimate', this.#sign(this.#batch(this.vehicleId, now)));
    const attack = attacks[this.#round % attacks.length] as Attack;
    this.#round += 1;
    if (attack === 'replay' && this.#lastAccepted !== undefined) {
      await this.#attempt('replay', this.#lastAccepted);
    } else if (attack === 'tamper') {
      // A man in the middle moves the truck 1 km after it signed: same envelope, different payload.
      const sequence = this.#takeSequence();
      const signed = decodeEnvelope(this.#sign(this.#batch(this.vehicleId, now, 0, sequence)));
      const altered = encodeEnvelope({
        ...signed,
        payload: this.#batch(this.vehicleId, now, 0.009, sequence),
      });
      await this.#attempt('tamper', altered);
    } else if (attack === 'impersonate') {
      await this.#attempt('impersonate', this.#sign(this.#batch(this.#victimId, now)));
    }
  }

  async #attempt(kind: Attack, envelope: Uint8Array): Promise<void> {
    this.stats.attempts[kind] += 1;
    try {
      const result = await this.#transport.send(envelope);
      if (result.status >= 200 && result.status < 300) {
        if (kind === 'legitimate') this.#lastAccepted = envelope;
        else this.stats.undetected += 1;
      } else {
        const code = result.problem?.code ?? `HTTP_${result.status}`;
        this.stats.refusals[code] = (this.stats.refusals[code] ?? 0) + 1;
      }
    } catch {
      this.stats.refusals.NETWORK = (this.stats.refusals.NETWORK ?? 0) + 1;
    }
  }

  start(intervalMs: number): void {
    this.#timer = setInterval(() => {
      this.#inFlight = this.#inFlight.then(() => this.round());
    }, intervalMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#inFlight;
    this.#transport.close();
    this.#counter.close();
  }
}
