/**
 * The gateway's MQTT subscriber (docs/mqtt.md): MQTT 5.0 over TLS 1.3 to the broker with the gateway's
 * client certificate (client-identity.ts), subscribed at QoS 1 to `fleet/+/telemetry` — as a shared
 * subscription (MQTT 5.0 §4.8.2, `$share/<group>/…`) so several gateway nodes split the vehicles'
 * envelopes — each message handled by handle-message.ts and answered on `fleet/<vehicle-id>/acks`.
 *
 * Delivery: at least once, end to end. The session is persistent (clean start off, a session expiry),
 * so the broker queues envelopes while this node restarts; a message is PUBACKed only after it has been
 * stored or its refusal recorded (mqtt.js `handleMessage`, which also makes the connection process one
 * message at a time — `mqtt.connections` adds parallel connections to the group). A crash between the
 * store commit and the PUBACK means one redelivery, which the replay window refuses as a duplicate.
 *
 * Threats: a spoofed broker (its certificate is verified against the fleetgate CA bundle and the URL's
 * host or `servername`, TLS 1.3 only); a publisher that is not who the topic says (the signer is checked
 * against the topic's vehicle, resolve-signer.ts); a hostile payload (the same limits and verification
 * as HTTPS, and a failure of one message never stops the subscriber); a broker outage (reconnects every
 * `reconnectMs`; the HTTPS listener is independent of it, and startup never waits for the broker).
 */
import { connect, type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { Gauge, type Registry } from 'prom-client';
import type { MqttConfig } from '../../config/config.ts';
import { encodeAck } from './ack.ts';
import type { MqttClientCredentials } from './client-identity.ts';
import { handleTelemetryMessage, type MqttMessageDeps } from './handle-message.ts';
import { acksTopic, subscriptionFilter } from './topics.ts';

export interface MqttSubscriberOptions {
  config: MqttConfig;
  credentials: MqttClientCredentials;
  message: MqttMessageDeps;
  logger: Logger;
  /** The gateway's metrics registry: `fleetgate_mqtt_subscriber_connections`. */
  registry?: Registry;
}

export interface MqttSubscriber {
  /** Resolves once every connection of this node is subscribed (at once if they are). */
  ready(): Promise<void>;
  /** Connections currently subscribed. */
  readonly subscribed: number;
  /** Stops reconnecting, lets the message in hand finish (its ack is sent), disconnects. */
  close(): Promise<void>;
}

/** Room for the topic and MQTT headers around the largest envelope. */
const PACKET_OVERHEAD_BYTES = 1024;
const CLOSE_GRACE_MS = 2_000;

interface Connection {
  client: MqttClient;
  subscribed: boolean;
  inFlight: Promise<void>;
}

export function startMqttSubscriber(options: MqttSubscriberOptions): MqttSubscriber {
  const { config, credentials, message } = options;
  const logger = options.logger.child({ component: 'mqtt' });
  const filter = subscriptionFilter(config.sharedGroup);
  const connections: Connection[] = [];
  let waiters: Array<() => void> = [];
  let closed = false;

  const allSubscribed = () => connections.every((c) => c.subscribed);
  const settle = () => {
    if (!allSubscribed()) return;
    const ready = waiters;
    waiters = [];
    for (const resolve of ready) resolve();
  };

  for (let i = 0; i < config.connections; i++) {
    const clientId = i === 0 ? config.clientId : `${config.clientId}-${i}`;
    const tls: IClientOptions & { minVersion: 'TLSv1.3' } = {
      protocolVersion: 5,
      clientId,
      clean: false,
      properties: {
        sessionExpiryInterval: config.sessionExpirySeconds,
        maximumPacketSize: message.maxEnvelopeBytes + PACKET_OVERHEAD_BYTES,
      },
      keepalive: config.keepaliveSeconds,
      reconnectPeriod: config.reconnectMs,
      connectTimeout: 10_000,
      resubscribe: false, // subscribed on every connect below, with the grant checked
      key: credentials.key,
      cert: credentials.chain,
      ca: credentials.ca,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.3',
      ...(config.servername === null ? {} : { servername: config.servername }),
    };
    const client = connect(config.url, tls);
    const connection: Connection = { client, subscribed: false, inFlight: Promise.resolve() };
    connections.push(connection);

    client.handleMessage = (packet: IPublishPacket, done: (error?: Error) => void) => {
      const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
      const work = handleTelemetryMessage(message, packet.topic, new Uint8Array(payload)).then(
        ({ vehicleId, ack }) => {
          if (vehicleId === null || ack === undefined) return;
          // Not awaited: its PUBACK arrives on this connection, behind the message being handled.
          client.publish(acksTopic(vehicleId), encodeAck(ack), { qos: 1 }, (error) => {
            if (error && !closed) logger.warn({ err: error, vehicleId }, 'acknowledgement not delivered');
          });
        },
      );
      connection.inFlight = work;
      work.then(
        () => done(),
        (error: unknown) => {
          // handleTelemetryMessage does not throw; this is a bug, and the message is still PUBACKed.
          logger.error({ err: error }, 'mqtt message handler failed');
          done();
        },
      );
    };
    client.on('connect', (connack) => {
      logger.info({ clientId, sessionPresent: connack.sessionPresent }, 'connected to the MQTT broker');
      client.subscribe(filter, { qos: 1 }, (error, granted) => {
        const grant = granted?.[0];
        if (error || grant === undefined || grant.qos >= 0x80) {
          // The broker's ACL refused (0x87) or the filter is invalid: nothing will arrive.
          logger.error({ err: error, filter, grant: grant?.qos }, 'MQTT subscription refused');
          return;
        }
        connection.subscribed = true;
        settle();
      });
    });
    client.on('close', () => {
      if (connection.subscribed && !closed) logger.warn({ clientId }, 'MQTT broker connection lost');
      connection.subscribed = false;
    });
    client.on('error', (error) => {
      if (!closed) logger.warn({ err: error, clientId }, 'MQTT broker connection failed');
    });
  }

  if (options.registry !== undefined) {
    new Gauge({
      name: 'fleetgate_mqtt_subscriber_connections',
      help: 'Connections of the MQTT telemetry subscriber that are connected and subscribed',
      registers: [options.registry],
      collect() {
        this.set(connections.filter((c) => c.subscribed).length);
      },
    });
  }

  return {
    ready: () =>
      allSubscribed() ? Promise.resolve() : new Promise<void>((resolve) => waiters.push(resolve)),
    get subscribed() {
      return connections.filter((c) => c.subscribed).length;
    },
    close: async () => {
      closed = true;
      await Promise.all(
        connections.map(async (c) => {
          c.client.options.reconnectPeriod = 0;
          await c.inFlight.catch(() => undefined);
          await new Promise<void>((resolve) => {
            const force = setTimeout(() => c.client.end(true, {}, () => resolve()), CLOSE_GRACE_MS);
            c.client.end(false, {}, () => {
              clearTimeout(force);
              resolve();
            });
          });
          c.subscribed = false;
        }),
      );
    },
  };
}
