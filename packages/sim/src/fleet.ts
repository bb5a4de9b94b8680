/**
 * A simulated autonomous fleet: each truck drives a real lane at highway speed, samples its state once a
 * second (position, speed, heading, odometer, automated-driving state) and sends signed, numbered batches
 * through the edge SDK over mTLS — the same code a real vehicle runs, so the gateway verifies real
 * signatures. Counters live in a state directory so a restarted demo never reuses one.
 */
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { keyIdOf } from '@fleetgate/core/signature/ed25519';
import { EdgeClient } from '@fleetgate/edge/client';
import { DurableCounter } from '@fleetgate/edge/counter';
import { HttpsTransport } from '@fleetgate/edge/transport/https';
import { DrivingState } from '@fleetgate/protocol/telemetry';
import { along, bearingDegrees, distanceMeters, type Hub } from './geo.ts';

export interface VehicleCredentials {
  /** PEM chain (leaf + intermediate), PEM Ed25519 private key, PEM trust bundle. */
  chain: string;
  key: string;
  ca: string;
}

export interface TruckSpec {
  vehicleId: string;
  lane: readonly [Hub, Hub];
  credentials: VehicleCredentials;
  /** Where on the lane the truck starts, 0..1. */
  startFraction: number;
}

export interface FleetStats {
  batchesAccepted: number;
  batchesRefused: number;
  batchesFailed: number;
  records: number;
}

const CRUISE_MPS = 26.8; // 60 mph

export class SimTruck {
  readonly vehicleId: string;
  readonly #lane: readonly [Hub, Hub];
  readonly #client: EdgeClient;
  readonly #transport: HttpsTransport;
  readonly #counter: DurableCounter;
  readonly #stats: FleetStats;
  #fraction: number;
  #forward = true;
  #odometer = 0;
  #inFlight: Promise<void> = Promise.resolve();

  constructor(spec: TruckSpec, baseUrl: string, stateDir: string, stats: FleetStats) {
    this.vehicleId = spec.vehicleId;
    this.#lane = spec.lane;
    this.#fraction = spec.startFraction;
    this.#stats = stats;
    const privateKey = createPrivateKey(spec.credentials.key);
    mkdirSync(join(stateDir, spec.vehicleId), { recursive: true, mode: 0o700 });
    this.#counter = DurableCounter.open(join(stateDir, spec.vehicleId, 'envelope-counter'));
    this.#transport = new HttpsTransport({
      url: baseUrl,
      cert: spec.credentials.chain,
      key: spec.credentials.key,
      ca: spec.credentials.ca,
    });
    this.#client = new EdgeClient({
      vehicleId: spec.vehicleId,
      loadId: `LOAD-${spec.vehicleId}`,
      privateKey,
      keyId: keyIdOf(createPublicKey(privateKey)),
      counter: this.#counter,
      transport: this.#transport,
      batch: { maxRecords: 20, maxAgeMs: 2_000 },
      retry: { maxAttempts: 3, baseDelayMs: 100 },
    });
  }

  /** Advances one second of driving, records a sample and sends a batch when one is due. */
  tick(now: number): void {
    const [a, b] = this.#forward ? this.#lane : ([this.#lane[1], this.#lane[0]] as const);
    const length = distanceMeters(a, b);
    this.#fraction += CRUISE_MPS / length;
    this.#odometer += CRUISE_MPS;
    if (this.#fraction >= 1) {
      this.#fraction = 0;
      this.#forward = !this.#forward;
    }
    const position = along(a, b, this.#fraction);
    this.#client.record(
      {
        timeUnixMs: BigInt(now),
        latitude: position.lat,
        longitude: position.lon,
        speedMps: CRUISE_MPS,
        headingDeg: bearingDegrees(a, b),
        odometerM: this.#odometer,
        drivingState: DrivingState.AUTONOMOUS,
        faults: [],
      },
      now,
    );
    if (this.#client.due(now)) this.#send(now);
  }

  #send(now: number): void {
    this.#inFlight = this.#inFlight.then(async () => {
      const result = await this.#client.flush(now);
      if (result.outcome === 'accepted') {
        this.#stats.batchesAccepted += 1;
        this.#stats.records += result.records;
      } else if (result.outcome === 'refused') this.#stats.batchesRefused += 1;
      else if (result.outcome === 'failed') this.#stats.batchesFailed += 1;
    });
  }

  /** Sends what is pending, waits for everything in flight, closes the connection and the counter. */
  async stop(): Promise<void> {
    if (this.#client.pending > 0) this.#send(Date.now());
    await this.#inFlight;
    this.#transport.close();
    this.#counter.close();
  }
}

export class FleetSimulator {
  readonly stats: FleetStats = { batchesAccepted: 0, batchesRefused: 0, batchesFailed: 0, records: 0 };
  readonly trucks: SimTruck[];
  #timer: NodeJS.Timeout | undefined;

  constructor(options: { baseUrl: string; trucks: readonly TruckSpec[]; stateDir: string }) {
    this.trucks = options.trucks.map(
      (spec) => new SimTruck(spec, options.baseUrl, options.stateDir, this.stats),
    );
  }

  start(tickMs = 1_000): void {
    this.#timer = setInterval(() => {
      const now = Date.now();
      for (const truck of this.trucks) truck.tick(now);
    }, tickMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await Promise.all(this.trucks.map((t) => t.stop()));
  }
}
