/**
 * Real signed envelopes of every suite for the telemetry tests: keys generated at test time, core's
 * signing functions over core's signing input, the protocol codec — no canned bytes, no mocks.
 */
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { ecdsaP256Sign } from '@fleetgate/core/signature/ecdsa-p256';
import { ed25519Sign, keyIdOf } from '@fleetgate/core/signature/ed25519';
import { hmacSha256Sign } from '@fleetgate/core/signature/hmac-sha256';
import {
  hybridEd25519MlDsa65KeyIdOf,
  hybridEd25519MlDsa65Sign,
} from '@fleetgate/core/signature/hybrid-ed25519-mldsa65';
import { signingInput } from '@fleetgate/core/signature/signing-input';
import { encodeEnvelope, SignatureAlgorithm, TELEMETRY_PAYLOAD_TYPE } from '@fleetgate/protocol/telemetry';
import type { Credentials, TestGateway } from '../support/harness.ts';
import { type HttpResult, httpsRequest } from '../support/https-client.ts';

export interface SuiteSigner {
  algorithm: SignatureAlgorithm;
  keyId: string;
  sign(input: Uint8Array): Uint8Array;
}

export interface WireSignature {
  algorithm: SignatureAlgorithm;
  keyId: string;
  signature: Uint8Array;
}

export function ed25519Signer(privateKey: KeyObject): SuiteSigner {
  return {
    algorithm: SignatureAlgorithm.ED25519,
    keyId: keyIdOf(createPublicKey(privateKey)),
    sign: (input) => ed25519Sign(privateKey, input),
  };
}

export function ecdsaSigner(privateKey: KeyObject): SuiteSigner {
  return {
    algorithm: SignatureAlgorithm.ECDSA_P256_SHA256,
    keyId: keyIdOf(createPublicKey(privateKey)),
    sign: (input) => ecdsaP256Sign(privateKey, input),
  };
}

export function hmacSigner(secret: KeyObject, keyId: string): SuiteSigner {
  return { algorithm: SignatureAlgorithm.HMAC_SHA256, keyId, sign: (input) => hmacSha256Sign(secret, input) };
}

/** The hybrid whose Ed25519 half is the vehicle's certificate key. */
export function hybridSigner(certificateKey: KeyObject, mlDsa65: KeyObject): SuiteSigner {
  const privateKey = { ed25519: certificateKey, mlDsa65 };
  return {
    algorithm: SignatureAlgorithm.ED25519_MLDSA65,
    keyId: hybridEd25519MlDsa65KeyIdOf(privateKey),
    sign: (input) => hybridEd25519MlDsa65Sign(privateKey, input),
  };
}

export function certificateKey(creds: Credentials): KeyObject {
  return createPrivateKey(creds.key);
}

/**
 * An envelope at `counter` over `payload`, signed by each signer; `alter` may rewrite the signature list
 * (strip, swap, truncate, rename) before encoding — what a forger or a faulty middlebox sends.
 */
export function envelope(
  counter: bigint,
  payload: Uint8Array,
  signers: readonly SuiteSigner[],
  alter?: (signatures: WireSignature[]) => WireSignature[],
): Uint8Array {
  const input = signingInput(TELEMETRY_PAYLOAD_TYPE, counter, payload);
  let signatures = signers.map((s) => ({ algorithm: s.algorithm, keyId: s.keyId, signature: s.sign(input) }));
  if (alter) signatures = alter(signatures);
  return encodeEnvelope({ payload, payloadType: TELEMETRY_PAYLOAD_TYPE, counter, signatures });
}

export function postTelemetry(t: TestGateway, creds: Credentials, body: Uint8Array): Promise<HttpResult> {
  return httpsRequest(`${t.url.telemetry}/v1/telemetry`, {
    ca: creds.ca,
    cert: creds.chain,
    key: creds.key,
    body,
    contentType: 'application/x-protobuf',
  });
}

/** Rows of a table for one vehicle. */
export async function countRows(t: TestGateway, table: string, vehicle: string): Promise<number> {
  const [row] = await t.gateway.store.query<{ n: string }>(
    `SELECT count(*)::int8 AS n FROM ${table} WHERE vehicle_id = $1`,
    [vehicle],
  );
  return Number(row?.n);
}
