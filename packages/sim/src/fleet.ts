/**
 * A simulated autonomous fleet: each truck drives a real lane at highway speed, samples its state once a
 * second (position, speed, heading, odometer, automated-driving state) and sends signed, numbered batches
 * through the edge SDK — the same code a real vehicle runs, so the gateway verifies real signatures —
 * over HTTPS (mTLS to the telemetry listener) or MQTT (through the broker, `mqtt` option: by default
 * every third truck). Counters and each truck's offline spool live in a state directory, so a restarted
 * demo never reuses a counter and sends what it could not send before, in order.
 */
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { keyIdOf } from '@fleetgate/core/signature/ed25519';
import { EdgeClient } from '@fleetgate/edge/client';
import { DurableCounter } from '@fleetgate/edge/counter';
import { EnvelopeSpool } from '@fleetgate/edge/spool';
import { HttpsTransport } from '@fleetgate/edge/transport/https';
import { MqttTransport } from '@fleetgate/edge/transport/mqtt';
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
  /** How it reaches the gateway; default: FleetSimulator's choice (HTTPS, or MQTT for every `every`-th truck). */
  transport?: TruckTransport;
}

export type TruckTransport = 'https' | 'mqtt';

/** MQTT for the fleet: the broker's URL, and which trucks use it. */
export interface FleetMqttOptions {
  /** mqtts://host:port of the broker (its certificate must chain to the trucks' CA bundle). */
  url: string;
  /** Every n-th truck (the 3rd, 6th, …) without an explicit `transport` goes over MQTT. Default 3. */
  every?: number;
  /** Name the broker's certificate must carry, when it differs from the URL's host. */
  servername?: string;
}

export interface FleetStats {
  batchesAccepted: number;
  batchesRefused: number;
  batchesFailed: number;
  records: number;
  /** Batches put in a truck's offline spool (the gateway or broker was unreachable). */
  batchesSpooled: number;
  /** Batches accepted, by transport. */
  acceptedByTransport: Record<TruckTransport, number>;
}

export function emptyFleetStats(): FleetStats {
  return {
    batchesAccepted: 0,
    batchesRefused: 0,
    batchesFailed: 0,
    records: 0,
    batchesSpooled: 0,
    acceptedByTransport: { https: 0, mqtt: 0 },
  };
}

const CRUISE_MPS = 26.8; // 60 mph

export class SimTruck {
  readonly vehicleId: string;
  readonly transport: TruckTransport;
  readonly #lane: readonly [Hub, Hub];
  readonly #client: EdgeClient;
  readonly #transport: HttpsTransport | MqttTransport;
  readonly #counter: DurableCounter;
  readonly #spool: EnvelopeSpool;
  readonly #stats: FleetStats;
  #fraction: number;
  #forward = true;
  #odometer = 0;
  #inFlight: Promise<void> = Promise.resolve();

  /** `mqtt` is needed when spec.transport is 'mqtt'. */
  constructor(
    spec: TruckSpec,
    baseUrl: string,
    stateDir: string,
    stats: FleetStats,
    mqtt?: Pick<FleetMqttOptions, 'url' | 'servername'>,
  ) {
    this.vehicleId = spec.vehicleId;
    this.transport = spec.transport ?? 'https';
    this.#lane = spec.lane;
    this.#fraction = spec.startFraction;
    this.#stats = stats;
    const privateKey = createPrivateKey(spec.credentials.key);
    mkdirSync(join(stateDir, spec.vehicleId), { recursive: true, mode: 0o700 });
    this.#counter = DurableCounter.open(join(stateDir, spec.vehicleId, 'envelope-counter'));
    this.#spool = EnvelopeSpool.open(join(stateDir, spec.vehicleId, 'spool'));
    const tls = { cert: spec.credentials.chain, key: spec.credentials.key, ca: spec.credentials.ca };
    if (this.transport === 'mqtt') {
      if (mqtt === undefined) throw new Error(`truck ${spec.vehicleId}: MQTT needs the broker's URL`);
      this.#transport = new MqttTransport({
        url: mqtt.url,
        vehicleId: spec.vehicleId,
        ...tls,
        ...(mqtt.servername === undefined ? {} : { servername: mqtt.servername }),
      });
    } else {
      this.#transport = new HttpsTransport({ url: baseUrl, ...tls });
    }
    this.#client = new EdgeClient({
      vehicleId: spec.vehicleId,
      loadId: `LOAD-${spec.vehicleId}`,
      privateKey,
      keyId: keyIdOf(createPublicKey(privateKey)),
      counter: this.#counter,
      transport: this.#transport,
      spool: this.#spool,
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
        this.#stats.acceptedByTransport[this.transport] += 1;
        this.#stats.records += result.records;
      } else if (result.outcome === 'refused') this.#stats.batchesRefused += 1;
      else if (result.outcome === 'failed') this.#stats.batchesFailed += 1;
      else if (result.outcome === 'spooled') this.#stats.batchesSpooled += 1;
    });
  }

  /** Batches waiting in this truck's offline spool. */
  get spooled(): number {
    return this.#spool.length;
  }

  /** Sends what is pending, waits for everything in flight, closes the connection and the counter. */
  async stop(): Promise<void> {
    if (this.#client.pending > 0) this.#send(Date.now());
    await this.#inFlight;
    await this.#transport.close();
    this.#spool.close();
    this.#counter.close();
  }
}

export interface FleetSimulatorOptions {
  /** The telemetry listener, e.g. https://localhost:8444. */
  baseUrl: string;
  trucks: readonly TruckSpec[];
  stateDir: string;
  /** With a broker: every `every`-th truck (default every third) sends over MQTT. */
  mqtt?: FleetMqttOptions;
}

export class FleetSimulator {
  readonly stats: FleetStats = emptyFleetStats();
  readonly trucks: SimTruck[];
  #timer: NodeJS.Timeout | undefined;

  constructor(options: FleetSimulatorOptions) {
    const { mqtt } = options;
    const every = mqtt?.every ?? 3;
    if (!Number.isSafeInteger(every) || every < 1) throw new Error('mqtt.every must be a positive integer');
    this.trucks = options.trucks.map((spec, i) => {
      const transport = spec.transport ?? (mqtt !== undefined && (i + 1) % every === 0 ? 'mqtt' : 'https');
      return new SimTruck({ ...spec, transport }, options.baseUrl, options.stateDir, this.stats, mqtt);
    });
  }

  /** Trucks per transport. */
  get transports(): Record<TruckTransport, number> {
    const count = { https: 0, mqtt: 0 };
    for (const truck of this.trucks) count[truck.transport] += 1;
    return count;
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
