/**
 * The PKCS#11 key provider (OASIS PKCS #11 v2.40 Base Specification; SoftHSM2 in tests, any HSM in
 * production) through pkcs11js. CA keys are generated INSIDE the token (C_GenerateKeyPair with
 * CKM_EC_KEY_PAIR_GEN on P-256, §2.3.6 of the Current Mechanisms spec) as token objects with
 * CKA_SENSITIVE = true and CKA_EXTRACTABLE = false, so the private key never exists outside the token.
 * Signing is CKM_ECDSA over a SHA-256 digest computed here (§2.3.7: the mechanism signs a hash and
 * returns r || s); @peculiar/x509 or derSignature() turn that into the DER that X.509 carries.
 *
 * The key document (document.ts) names the module, the token label, the object's CKA_ID and label, the
 * public key and where the user PIN comes from. On open the provider logs in, finds the object, refuses
 * it unless it is still sensitive and non-extractable, and signs a random challenge that must verify
 * under the recorded public key — so a document can never quietly point at another key.
 *
 * One library instance per module path and one logged-in session per token, shared by every signer in
 * the process and reference-counted: the last close() closes the session and finalizes the library.
 * pkcs11js calls are synchronous, so two signatures never interleave on the session.
 *
 * Threats: key extraction (attributes checked at creation and on every open); loading an arbitrary
 * shared library named in a tampered document (absolute path, a regular file owned by root or us and
 * not writable by group or others); PINs in errors (errors carry the CKR_* name only); a missing native module (a coded error
 * telling how to build it, never a crash at import time: the module is loaded lazily).
 */
import { createHash, createPublicKey, type KeyObject, randomBytes, verify } from 'node:crypto';
import { statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isAbsolute } from 'node:path';
import type * as Pkcs11Js from 'pkcs11js';
import { PkiError } from '../errors.ts';
import {
  KEY_ALGORITHM,
  KEY_DOCUMENT_FORMAT,
  type Pkcs11KeyDocument,
  spkiBase64,
  writeKeyDocument,
} from './document.ts';
import { readSecret, type SecretContext, type SecretRef } from './secret.ts';
import { type CaSigner, P256_SIGNATURE_BYTES } from './signer.ts';

export interface Pkcs11Options {
  /** Absolute path of the PKCS#11 module (e.g. /usr/lib/softhsm/libsofthsm2.so). */
  readonly module: string;
  /** CKA_LABEL of the token (the slot is found by it). */
  readonly tokenLabel: string;
  /** Where the user PIN is read from. */
  readonly pin: SecretRef;
}

type Pkcs11Module = typeof Pkcs11Js;
type Handle = Buffer;

/** DER of the namedCurve OID prime256v1 (1.2.840.10045.3.1.7), the CKA_EC_PARAMS of a P-256 key. */
const P256_EC_PARAMS = Buffer.from('06082a8648ce3d030107', 'hex');
/** The fixed SubjectPublicKeyInfo prefix of a P-256 key, before the 65-octet uncompressed point. */
const P256_SPKI_PREFIX = Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex');
const MIN_PIN_LENGTH = 4;

let pkcs11js: Pkcs11Module | undefined;

function load(): Pkcs11Module {
  if (pkcs11js === undefined) {
    try {
      pkcs11js = createRequire(import.meta.url)('pkcs11js') as Pkcs11Module;
    } catch (cause) {
      throw new PkiError(
        'PKI_KEY_UNAVAILABLE',
        'the PKCS#11 provider needs the native module pkcs11js built for this Node (node scripts/prepare-native.js)',
        { cause },
      );
    }
  }
  return pkcs11js;
}

/** True when the native module loads here; tests use it to skip visibly. */
export function pkcs11Available(): boolean {
  try {
    load();
    return true;
  } catch {
    return false;
  }
}

function failure(operation: string, cause: unknown): PkiError {
  // pkcs11js messages are "CKR_NAME" (plus a native stack); keep the name only.
  const name = cause instanceof Error ? (/CKR_[A-Z_]+/.exec(cause.message)?.[0] ?? cause.name) : 'error';
  return new PkiError('PKI_KEY_UNAVAILABLE', `PKCS#11 ${operation} failed (${name})`, { cause });
}

function call<T>(operation: string, fn: () => T): T {
  try {
    return fn();
  } catch (cause) {
    throw failure(operation, cause);
  }
}

interface Library {
  readonly lib: Pkcs11Js.PKCS11;
  readonly tokens: Map<string, Token>;
  /** False when another user in this process had initialised the module: then it is theirs to finalize. */
  readonly ownsInitialize: boolean;
}

interface Token {
  readonly library: Library;
  readonly label: string;
  readonly session: Handle;
  refs: number;
}

const libraries = new Map<string, Library>();

function assertModulePath(path: string): void {
  if (!isAbsolute(path))
    throw new PkiError('PKI_KEY_UNAVAILABLE', 'the PKCS#11 module path must be absolute');
  let stat: ReturnType<typeof statSync>;
  try {
    stat = statSync(path); // distributions install the module as a symlink: judge what it points at
  } catch (cause) {
    throw new PkiError('PKI_KEY_UNAVAILABLE', `no PKCS#11 module at ${path}`, { cause });
  }
  if (!stat.isFile())
    throw new PkiError('PKI_KEY_UNAVAILABLE', `the PKCS#11 module is not a regular file: ${path}`);
  if ((stat.mode & 0o022) !== 0 || (stat.uid !== 0 && stat.uid !== process.getuid?.())) {
    throw new PkiError(
      'PKI_INSECURE_KEY_FILE',
      `the PKCS#11 module must be owned by root (or us) and not writable by group or others: ${path}`,
    );
  }
}

function library(path: string): Library {
  let entry = libraries.get(path);
  if (entry === undefined) {
    assertModulePath(path);
    const { PKCS11 } = load();
    const lib = new PKCS11();
    call('load', () => lib.load(path));
    let ownsInitialize = true;
    try {
      lib.C_Initialize();
    } catch (cause) {
      if (!(cause instanceof Error && cause.message.includes('CKR_CRYPTOKI_ALREADY_INITIALIZED'))) {
        throw failure('C_Initialize', cause);
      }
      ownsInitialize = false;
    }
    entry = { lib, tokens: new Map(), ownsInitialize };
    libraries.set(path, entry);
  }
  return entry;
}

async function openToken(options: Pkcs11Options, context: SecretContext): Promise<Token> {
  const pin = await readSecret(options.pin, context, 'PKCS#11 user PIN', MIN_PIN_LENGTH);
  const lib = library(options.module);
  const existing = lib.tokens.get(options.tokenLabel);
  if (existing !== undefined) {
    existing.refs += 1;
    return existing;
  }
  const p11 = load();
  const slot = call('C_GetSlotList', () => lib.lib.C_GetSlotList(true)).find(
    (candidate) =>
      call('C_GetTokenInfo', () => lib.lib.C_GetTokenInfo(candidate)).label.trimEnd() === options.tokenLabel,
  );
  if (slot === undefined) {
    throw new PkiError(
      'PKI_KEY_UNAVAILABLE',
      `no PKCS#11 token labelled "${options.tokenLabel}" in ${options.module}`,
    );
  }
  const session = call('C_OpenSession', () =>
    lib.lib.C_OpenSession(slot, p11.CKF_SERIAL_SESSION | p11.CKF_RW_SESSION),
  );
  try {
    lib.lib.C_Login(session, p11.CKU_USER, pin);
  } catch (cause) {
    if (!(cause instanceof Error && cause.message.includes('CKR_USER_ALREADY_LOGGED_IN'))) {
      call('C_CloseSession', () => lib.lib.C_CloseSession(session));
      throw failure('C_Login', cause);
    }
  }
  const token: Token = { library: lib, label: options.tokenLabel, session, refs: 1 };
  lib.tokens.set(options.tokenLabel, token);
  return token;
}

function release(token: Token, modulePath: string): void {
  token.refs -= 1;
  if (token.refs > 0) return;
  const { lib, tokens, ownsInitialize } = token.library;
  tokens.delete(token.label);
  try {
    lib.C_Logout(token.session);
  } catch {
    // already logged out (another session of the application may have done it)
  }
  call('C_CloseSession', () => lib.C_CloseSession(token.session));
  if (tokens.size === 0) {
    libraries.delete(modulePath);
    if (ownsInitialize) call('C_Finalize', () => lib.C_Finalize());
  }
}

function findPrivateKey(token: Token, keyId: Buffer): Handle {
  const p11 = load();
  const lib = token.library.lib;
  const template = [
    { type: p11.CKA_CLASS, value: p11.CKO_PRIVATE_KEY },
    { type: p11.CKA_ID, value: keyId },
  ];
  call('C_FindObjectsInit', () => lib.C_FindObjectsInit(token.session, template));
  let found: Handle[];
  try {
    found = call('C_FindObjects', () => lib.C_FindObjects(token.session, 2));
  } finally {
    call('C_FindObjectsFinal', () => lib.C_FindObjectsFinal(token.session));
  }
  const [handle] = found;
  if (handle === undefined || found.length !== 1) {
    throw new PkiError(
      'PKI_KEY_UNAVAILABLE',
      `expected exactly one private key with CKA_ID ${keyId.toString('hex')} in the token`,
    );
  }
  return handle;
}

/** Refuses a key the token would let out: it must be sensitive, non-extractable and able to sign. */
function assertCustody(token: Token, handle: Handle): { neverExtractable: boolean } {
  const p11 = load();
  const attributes = call('C_GetAttributeValue', () =>
    token.library.lib.C_GetAttributeValue(token.session, handle, [
      { type: p11.CKA_SENSITIVE },
      { type: p11.CKA_EXTRACTABLE },
      { type: p11.CKA_SIGN },
      { type: p11.CKA_NEVER_EXTRACTABLE },
      { type: p11.CKA_KEY_TYPE },
    ]),
  );
  const flag = (type: number): boolean => attributes.find((a) => a.type === type)?.value[0] === 1;
  const keyType = attributes.find((a) => a.type === p11.CKA_KEY_TYPE)?.value.readUIntLE(0, 1);
  if (
    !flag(p11.CKA_SENSITIVE) ||
    flag(p11.CKA_EXTRACTABLE) ||
    !flag(p11.CKA_SIGN) ||
    keyType !== p11.CKK_EC
  ) {
    throw new PkiError(
      'PKI_KEY_UNAVAILABLE',
      'the token key must be an EC signing key, sensitive and non-extractable',
    );
  }
  return { neverExtractable: flag(p11.CKA_NEVER_EXTRACTABLE) };
}

function signDigest(token: Token, handle: Handle, data: Uint8Array): Uint8Array {
  const p11 = load();
  const digest = createHash('sha256').update(data).digest();
  const lib = token.library.lib;
  call('C_SignInit', () => lib.C_SignInit(token.session, { mechanism: p11.CKM_ECDSA }, handle));
  const signature = call('C_Sign', () => lib.C_Sign(token.session, digest, Buffer.alloc(128)));
  if (signature.length !== P256_SIGNATURE_BYTES) {
    throw new PkiError('PKI_KEY_UNAVAILABLE', `CKM_ECDSA returned ${signature.length} octets, not r || s`);
  }
  return new Uint8Array(signature);
}

function signer(
  token: Token,
  handle: Handle,
  publicKey: KeyObject,
  document: Pkcs11KeyDocument,
  born: boolean,
): CaSigner {
  let open = true;
  const challenge = randomBytes(32);
  const proof = signDigest(token, handle, challenge);
  if (!verify('sha256', challenge, { key: publicKey, dsaEncoding: 'ieee-p1363' }, proof)) {
    throw new PkiError(
      'PKI_KEY_UNAVAILABLE',
      'the token key does not match the public key in the key document',
    );
  }
  return Object.freeze({
    kind: 'ca-signer' as const,
    custody: 'pkcs11' as const,
    description:
      `PKCS#11 token "${document.tokenLabel}", object "${document.keyLabel}" (id ${document.keyId}; sensitive, ` +
      `${born ? 'never extractable' : 'non-extractable'}) via ${document.module}`,
    publicKey,
    sign: async (data: Uint8Array): Promise<Uint8Array> => {
      if (!open) throw new PkiError('PKI_KEY_UNAVAILABLE', 'the CA signer was closed');
      return signDigest(token, handle, data);
    },
    close: async (): Promise<void> => {
      if (!open) return;
      open = false;
      release(token, document.module);
    },
  });
}

function publicKeyFromPoint(ecPoint: Buffer): KeyObject {
  // CKA_EC_POINT is the DER OCTET STRING around the point (v2.40); some tokens return the bare point.
  const point =
    ecPoint.length === 67 && ecPoint[0] === 0x04 && ecPoint[1] === 0x41 ? ecPoint.subarray(2) : ecPoint;
  if (point.length !== 65 || point[0] !== 0x04) {
    throw new PkiError(
      'PKI_KEY_UNAVAILABLE',
      'the token returned an EC point that is not an uncompressed P-256 point',
    );
  }
  return createPublicKey({ key: Buffer.concat([P256_SPKI_PREFIX, point]), format: 'der', type: 'spki' });
}

/**
 * Generates a P-256 key pair inside the token, writes its key document at `path`, and returns a signer.
 * `keyLabel` becomes the objects' CKA_LABEL (printable ASCII, at most 64 characters).
 */
export async function createPkcs11CaKey(
  path: string,
  options: Pkcs11Options,
  keyLabel: string,
  context: SecretContext,
): Promise<CaSigner> {
  if (!/^[\x20-\x7e]{1,64}$/.test(keyLabel))
    throw new PkiError('PKI_INVALID_ARGUMENT', 'key label must be printable ASCII');
  const token = await openToken(options, context);
  try {
    const p11 = load();
    const lib = token.library.lib;
    const keyId = randomBytes(16);
    const common = [
      { type: p11.CKA_TOKEN, value: true },
      { type: p11.CKA_KEY_TYPE, value: p11.CKK_EC },
      { type: p11.CKA_ID, value: keyId },
      { type: p11.CKA_LABEL, value: keyLabel },
    ];
    const keys = call('C_GenerateKeyPair', () =>
      lib.C_GenerateKeyPair(
        token.session,
        { mechanism: p11.CKM_EC_KEY_PAIR_GEN },
        [
          ...common,
          { type: p11.CKA_CLASS, value: p11.CKO_PUBLIC_KEY },
          { type: p11.CKA_PRIVATE, value: false },
          { type: p11.CKA_VERIFY, value: true },
          { type: p11.CKA_EC_PARAMS, value: P256_EC_PARAMS },
        ],
        [
          ...common,
          { type: p11.CKA_CLASS, value: p11.CKO_PRIVATE_KEY },
          { type: p11.CKA_PRIVATE, value: true },
          { type: p11.CKA_SENSITIVE, value: true },
          { type: p11.CKA_EXTRACTABLE, value: false },
          { type: p11.CKA_SIGN, value: true },
          { type: p11.CKA_DERIVE, value: false },
        ],
      ),
    );
    const [point] = call('C_GetAttributeValue', () =>
      lib.C_GetAttributeValue(token.session, keys.publicKey, [{ type: p11.CKA_EC_POINT }]),
    );
    const publicKey = publicKeyFromPoint(point?.value ?? Buffer.alloc(0));
    const document: Pkcs11KeyDocument = {
      format: KEY_DOCUMENT_FORMAT,
      provider: 'pkcs11',
      algorithm: KEY_ALGORITHM,
      publicKey: spkiBase64(publicKey),
      module: options.module,
      tokenLabel: options.tokenLabel,
      keyId: keyId.toString('hex'),
      keyLabel,
      pin: options.pin,
    };
    const custody = assertCustody(token, keys.privateKey);
    const result = signer(token, keys.privateKey, publicKey, document, custody.neverExtractable);
    await writeKeyDocument(path, document);
    return result;
  } catch (error) {
    release(token, options.module);
    throw error;
  }
}

/** A signer for an existing PKCS#11 key document. */
export async function openPkcs11CaKey(
  document: Pkcs11KeyDocument,
  context: SecretContext,
): Promise<CaSigner> {
  const options = { module: document.module, tokenLabel: document.tokenLabel, pin: document.pin };
  const token = await openToken(options, context);
  try {
    const handle = findPrivateKey(token, Buffer.from(document.keyId, 'hex'));
    const custody = assertCustody(token, handle);
    const publicKey = createPublicKey({
      key: Buffer.from(document.publicKey, 'base64'),
      format: 'der',
      type: 'spki',
    });
    return signer(token, handle, publicKey, document, custody.neverExtractable);
  } catch (error) {
    release(token, document.module);
    throw error;
  }
}
