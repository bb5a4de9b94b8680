/**
 * The TLS policy (http/tls-policy.ts) on every TLS listener of a real gateway, asked by real clients:
 * Node 24 (OpenSSL 3.5, which knows X25519MLKEM768) and the system `openssl s_client`.
 *
 *   protocol   TLS 1.3 only: a TLS 1.2 client is refused (Node and s_client)
 *   suites     the three AEAD suites, in our order (a client preferring ChaCha20 still gets AES-256-GCM);
 *              a suite outside the policy (TLS_AES_128_CCM_SHA256) is refused
 *   groups     X25519MLKEM768 when the client offers it (Node 24's default), X25519 and P-256 as
 *              fallbacks, P-384 alone refused
 *   no renegotiation, no compression: TLS 1.3 has neither; a renegotiation request fails, s_client
 *              reports "Compression: NONE" and "Secure Renegotiation IS NOT supported"
 *   tickets    a session resumes on its listener; after a ticket-key rotation it does not; a ticket
 *              from one listener never resumes on another (their keys are separate)
 */
import { spawn } from 'node:child_process';
import { connect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engines } from '../support/engines.ts';
import { startTestGateway, type TestGateway } from '../support/harness.ts';
import { type ClientIdentity, tlsExchange } from './clients.ts';

const LISTENERS = ['controlPlane', 'telemetry', 'public'] as const;
type Listener = (typeof LISTENERS)[number];

/** `openssl s_client` with stdin closed; asynchronous, because the gateway runs in this process. */
function sClient(port: number, args: string[], ca: string): Promise<{ status: number; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'openssl',
      ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', 'localhost', '-CAfile', ca, ...args],
      { stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000 },
    );
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ status: code ?? -1, out }));
  });
}

for (const engine of engines()) {
  describe(`TLS policy on ${engine.name}`, () => {
    let t: TestGateway;
    let partner: ClientIdentity;
    let vehicle: ClientIdentity;

    beforeAll(async () => {
      t = await startTestGateway(engine);
      const p = t.partner('acme-tms');
      const v = t.vehicle('TRK-001');
      partner = { cert: p.chain, key: p.key, ca: p.ca };
      vehicle = { cert: v.chain, key: v.key, ca: v.ca };
    });
    afterAll(async () => {
      await t?.stop();
    });

    const port = (name: Listener): number => t.gateway.addresses[name].port;
    const client = (name: Listener): ClientIdentity =>
      name === 'telemetry' ? vehicle : name === 'public' ? { ca: partner.ca } : partner;

    it('offers TLS 1.3 only, on every TLS listener (Node and openssl s_client)', async () => {
      for (const name of LISTENERS) {
        const ok = await tlsExchange(port(name), client(name));
        expect([name, ok.protocol]).toEqual([name, 'TLSv1.3']);
        await expect(tlsExchange(port(name), client(name), { maxVersion: 'TLSv1.2' })).rejects.toThrow();
        const tls12 = await sClient(port(name), ['-tls1_2'], t.caPath);
        expect([name, tls12.status]).not.toEqual([name, 0]);
        expect(tls12.out).toContain('alert protocol version');
        expect(tls12.out).toContain('Cipher is (NONE)');
      }
    });

    it('negotiates only the three AEAD suites, in our order', async () => {
      for (const name of LISTENERS) {
        for (const suite of [
          'TLS_AES_256_GCM_SHA384',
          'TLS_CHACHA20_POLY1305_SHA256',
          'TLS_AES_128_GCM_SHA256',
        ]) {
          expect((await tlsExchange(port(name), client(name), { ciphers: suite })).cipher).toBe(suite);
        }
        const reversed = 'TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384';
        expect((await tlsExchange(port(name), client(name), { ciphers: reversed })).cipher).toBe(
          'TLS_AES_256_GCM_SHA384',
        );
        const ccm = await sClient(
          port(name),
          ['-tls1_3', '-ciphersuites', 'TLS_AES_128_CCM_SHA256'],
          t.caPath,
        );
        expect([name, ccm.status]).not.toEqual([name, 0]);
      }
    });

    it('prefers X25519MLKEM768, falls back to X25519 and P-256, refuses other groups', async () => {
      for (const name of LISTENERS) {
        expect((await tlsExchange(port(name), client(name))).group).toBe('X25519MLKEM768'); // Node 24 default
        const offered = await tlsExchange(port(name), client(name), {
          ecdhCurve: 'X25519MLKEM768:X25519:P-256',
        });
        expect(offered.group).toBe('X25519MLKEM768');
        expect((await tlsExchange(port(name), client(name), { ecdhCurve: 'X25519' })).group).toBe('X25519');
        expect((await tlsExchange(port(name), client(name), { ecdhCurve: 'P-256' })).group).toBe(
          'prime256v1',
        );
        await expect(tlsExchange(port(name), client(name), { ecdhCurve: 'P-384' })).rejects.toThrow();
      }
    });

    it('has no renegotiation and no compression (TLS 1.3 removed both)', async () => {
      for (const name of LISTENERS) {
        const identity = client(name);
        const error = await new Promise<Error | null>((resolve, reject) => {
          const socket = connect(
            {
              host: '127.0.0.1',
              port: port(name),
              servername: 'localhost',
              ca: identity.ca,
              ...(identity.cert === undefined ? {} : { cert: identity.cert, key: identity.key }),
            },
            () => {
              const asked = socket.renegotiate({}, (err) => {
                socket.destroy();
                resolve(err);
              });
              if (asked === false) {
                socket.destroy();
                resolve(new Error('renegotiate() refused to start'));
              }
            },
          );
          socket.on('error', reject);
        });
        expect(error?.message).toMatch(/wrong ssl version|refused/);
        const session = await sClient(port(name), ['-tls1_3'], t.caPath);
        expect(session.out).toContain('Compression: NONE');
        expect(session.out).toContain('Secure Renegotiation IS NOT supported');
      }
    });

    it('resumes with a ticket; a rotation retires it; a ticket never crosses listeners', async () => {
      const first = await tlsExchange(port('telemetry'), vehicle);
      expect(first.session).toBeDefined();
      const resumed = await tlsExchange(port('telemetry'), vehicle, { session: first.session as Buffer });
      expect(resumed.reused).toBe(true);

      const fromPublic = await tlsExchange(port('public'), { ca: vehicle.ca });
      expect(fromPublic.session).toBeDefined();
      for (const name of ['controlPlane', 'telemetry'] as const) {
        const crossed = await tlsExchange(port(name), client(name), {
          session: fromPublic.session as Buffer,
        });
        expect([name, crossed.reused]).toEqual([name, false]);
      }

      const rotations = t.gateway.tls.ticketKeys.rotations;
      t.gateway.tls.ticketKeys.rotate();
      expect(t.gateway.tls.ticketKeys.rotations).toBe(rotations + 1);
      const afterRotation = await tlsExchange(port('telemetry'), vehicle, {
        session: first.session as Buffer,
      });
      expect(afterRotation.reused).toBe(false); // a full handshake instead
      const again = await tlsExchange(port('telemetry'), vehicle, {
        session: afterRotation.session as Buffer,
      });
      expect(again.reused).toBe(true);
    });
  });
}
