/**
 * Fault tests over real mTLS (HTTP/2 + HTTP/1.1 telemetry listener): a real vehicle behind the sim's
 * FaultyTransport, a real gateway, on every store engine (scenarios.ts says what each asserts).
 */
import { HttpsTransport } from '@fleetgate/edge/transport/https';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { engines } from '../support/engines.ts';
import { startTestGateway, type TestGateway } from '../support/harness.ts';
import { bitFlipEveryByte, mixedFaults, reorderInsideWindow, type TransportFactory } from './scenarios.ts';

describe.each(engines())('faults over mTLS on $name', (engine) => {
  let tg: TestGateway;
  let https: TransportFactory;

  beforeAll(async () => {
    tg = await startTestGateway(engine);
    https = (vehicleId) => {
      const creds = tg.vehicle(vehicleId);
      return new HttpsTransport({ url: tg.url.telemetry, cert: creds.chain, key: creds.key, ca: creds.ca });
    };
  });
  afterAll(async () => {
    await tg?.stop();
  });

  it('drops, lost answers, duplicates, a bit flip, a replay and a held copy: exactly 1-4, 6, 7 stored', () =>
    mixedFaults(tg, https));

  it('reordering inside the window stores everything; below the window is refused', () =>
    reorderInsideWindow(tg, https));

  it('a bit flipped at every byte position of one envelope is refused, recorded, never stored', () =>
    bitFlipEveryByte(tg, https));
});
