/**
 * Fault tests through a real Mosquitto: the same scenarios as over mTLS (scenarios.ts), the vehicle
 * publishing with the edge SDK's MqttTransport, the gateway's subscriber ingesting — so a broker in the
 * middle changes nothing about what is stored and refused. On every store engine.
 */
import { MqttTransport } from '@fleetgate/edge/transport/mqtt';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { MOSQUITTO, type MqttGateway, startMqttGateway } from '../mqtt/support.ts';
import { engines } from '../support/engines.ts';
import { bitFlipEveryByte, mixedFaults, reorderInsideWindow, type TransportFactory } from './scenarios.ts';

describe.skipIf(MOSQUITTO === undefined).each(engines())('faults through Mosquitto on $name', (engine) => {
  let m: MqttGateway;
  let mqtt: TransportFactory;

  beforeAll(async () => {
    m = await startMqttGateway(engine);
    mqtt = (vehicleId) => {
      const creds = m.tg.vehicle(vehicleId);
      return new MqttTransport({
        url: m.url,
        vehicleId,
        cert: creds.chain,
        key: creds.key,
        ca: creds.ca,
        ackTimeoutMs: 15_000,
      });
    };
  });
  afterAll(async () => {
    await m?.stop();
  });

  it('drops, lost answers, duplicates, a bit flip, a replay and a held copy: exactly 1-4, 6, 7 stored', () =>
    mixedFaults(m.tg, mqtt));

  it('reordering inside the window stores everything; below the window is refused', () =>
    reorderInsideWindow(m.tg, mqtt));

  it('a bit flipped at every byte position of one envelope is refused, recorded, never stored', () =>
    bitFlipEveryByte(m.tg, mqtt));
});
