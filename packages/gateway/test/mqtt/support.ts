/**
 * A real gateway with MQTT enabled and a real Mosquitto in front of it, for integration tests: the
 * gateway starts first (it publishes the CRL and issues its own MQTT client certificate), then a broker
 * generated from its data directory (broker-config.ts) on a free port, never 1883. Skips visibly when
 * mosquitto is not installed.
 */
import { defaultMqttConfig, type GatewayConfig, type MqttConfig } from '../../src/config/config.ts';
import {
  findMosquitto,
  freeLocalPort,
  type RunningBroker,
  startMosquitto,
} from '../../src/telemetry/mqtt/broker-process.ts';
import type { EngineCase } from '../support/engines.ts';
import { startTestGateway, type TestGateway } from '../support/harness.ts';

export const MOSQUITTO = findMosquitto();
if (MOSQUITTO === undefined) {
  console.warn('[skip] MQTT tests: mosquitto is not installed (apt-get install mosquitto mosquitto-clients)');
}

/** A port nobody listens on right now (the broker binds it a moment later). */
export const freePort = freeLocalPort;

export interface MqttGateway {
  tg: TestGateway;
  broker: RunningBroker;
  url: string;
  /** Starts the broker again on the same port (after broker.stop()). */
  restartBroker(): Promise<RunningBroker>;
  stop(): Promise<void>;
}

export async function startMqttGateway(
  engine: EngineCase,
  tweak?: (config: GatewayConfig) => void,
  mqtt: Partial<MqttConfig> = {},
): Promise<MqttGateway> {
  const port = await freePort();
  const url = `mqtts://127.0.0.1:${port}`;
  const tg = await startTestGateway(engine, (c) => {
    c.mqtt = { ...defaultMqttConfig(), enabled: true, url, reconnectMs: 100, ...mqtt };
    tweak?.(c);
  });
  const launch = () =>
    startMosquitto({
      dataDir: tg.dataDir,
      port,
      vehicles: tg.vehicles,
      maxEnvelopeBytes: tg.gateway.config.telemetry.maxEnvelopeBytes,
      persistence: false,
      watchIntervalMs: 100,
    });
  let broker: RunningBroker;
  try {
    broker = await launch();
  } catch (error) {
    await tg.stop();
    throw error;
  }
  try {
    await tg.gateway.mqtt?.ready();
  } catch (error) {
    await Promise.allSettled([tg.stop(), broker.stop()]);
    throw error;
  }
  const handle: MqttGateway = {
    tg,
    broker,
    url,
    restartBroker: async () => {
      handle.broker = await launch();
      return handle.broker;
    },
    stop: async () => {
      try {
        await tg.stop();
      } finally {
        await handle.broker.stop();
      }
    },
  };
  return handle;
}
