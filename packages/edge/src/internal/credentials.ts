/**
 * The device's identity on disk: ONE file, DIR/device.pem (mode 0600), holding the Ed25519 private key
 * followed by the certificate chain (leaf first). One file because key and certificate must change
 * together: it is written to a fresh temporary file (O_EXCL, so never through a planted symlink),
 * fsynced, renamed over the old one and the directory fsynced — after a crash the device has either
 * its old identity or its new one, never a new key with an old certificate.
 *
 * During a renewal the new key is first saved alone as DIR/pending-key.pem (0600), before the request
 * leaves the device: if the answer is lost, the next attempt sends the same key again and the gateway
 * answers with the certificate it already issued for it.
 *
 * Threats: key disclosure (0600, set explicitly whatever the umask; a key file others can read is
 * refused on load), torn writes (rename), a planted symlink (O_EXCL temporary, lstat on read).
 */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  X509Certificate,
} from 'node:crypto';
import { lstat, mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { keyIdOf } from '@fleetgate/core/signature/ed25519';
import { EdgeError } from '../errors.ts';

export const DEVICE_FILE = 'device.pem';
export const PENDING_KEY_FILE = 'pending-key.pem';
const MAX_FILE_BYTES = 64 * 1024;

/** A vehicle's key and certificate, as the SDK uses them. */
export interface DeviceCredentials {
  readonly vehicleId: string;
  readonly privateKey: KeyObject;
  /** keyIdOf(publicKey): what the telemetry signature names. */
  readonly keyId: string;
  readonly keyPem: string;
  /** The leaf certificate (PEM). */
  readonly certificatePem: string;
  /** Leaf then intermediates (PEM): what the TLS client presents. */
  readonly chainPem: string;
  readonly serialNumber: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

function io(message: string, cause: unknown): EdgeError {
  return new EdgeError('EDGE_CREDENTIALS_IO', message, { cause });
}

export async function writePrivateFile(dir: string, name: string, data: string): Promise<void> {
  const path = join(dir, name);
  const temporary = join(dir, `.${name}.${randomBytes(8).toString('hex')}.tmp`);
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const handle = await open(temporary, 'wx', 0o600);
    try {
      await handle.chmod(0o600);
      await handle.writeFile(data, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, path);
    const folder = await open(dir, 'r');
    try {
      await folder.sync();
    } finally {
      await folder.close();
    }
  } catch (cause) {
    await rm(temporary, { force: true });
    throw io(`could not write ${name}`, cause);
  }
}

/** The file's text, undefined if absent; refuses a non-regular file or one others can read. */
export async function readPrivateFile(dir: string, name: string): Promise<string | undefined> {
  const path = join(dir, name);
  try {
    const stat = await lstat(path);
    if (!stat.isFile() || stat.size > MAX_FILE_BYTES) throw new Error('not a small regular file');
    if ((stat.mode & 0o077) !== 0) throw new Error('readable by group or others (chmod 600)');
    return await readFile(path, 'utf8');
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw io(`could not read ${name}`, cause);
  }
}

export async function removeFile(dir: string, name: string): Promise<void> {
  await rm(join(dir, name), { force: true });
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g;
const PEM_KEY = /-----BEGIN PRIVATE KEY-----[\s\S]+?-----END PRIVATE KEY-----\n?/;

/** Credentials from a private key and a chain whose first certificate certifies that key. */
export function credentialsFrom(
  vehicleId: string,
  keyPem: string,
  chain: readonly X509Certificate[],
): DeviceCredentials {
  const privateKey = createPrivateKey(keyPem);
  const leaf = chain[0];
  if (leaf === undefined || !leaf.checkPrivateKey(privateKey)) {
    throw new EdgeError('EDGE_INVALID_KEY', 'the certificate does not certify the device key');
  }
  const pem = (c: X509Certificate) => `${c.toString().trimEnd()}\n`;
  return {
    vehicleId,
    privateKey,
    keyId: keyIdOf(createPublicKey(privateKey)),
    keyPem: `${keyPem.trimEnd()}\n`,
    certificatePem: pem(leaf),
    chainPem: chain.map(pem).join(''),
    serialNumber: leaf.serialNumber.toLowerCase(),
    notBefore: leaf.validFromDate,
    notAfter: leaf.validToDate,
  };
}

export async function saveCredentials(dir: string, credentials: DeviceCredentials): Promise<void> {
  await writePrivateFile(dir, DEVICE_FILE, credentials.keyPem + credentials.chainPem);
}

/** DIR/device.pem, or undefined if the device has not enrolled yet. */
export async function loadCredentialsFile(
  dir: string,
  vehicleId: string,
): Promise<DeviceCredentials | undefined> {
  const text = await readPrivateFile(dir, DEVICE_FILE);
  if (text === undefined) return undefined;
  try {
    const keyPem = PEM_KEY.exec(text)?.[0];
    const chain = (text.match(PEM_CERTIFICATE) ?? []).map((pem) => new X509Certificate(pem));
    if (keyPem === undefined) throw new Error('no PRIVATE KEY block');
    return credentialsFrom(vehicleId, keyPem, chain);
  } catch (cause) {
    if (cause instanceof EdgeError) throw cause;
    throw io(`${DEVICE_FILE} is not a key followed by its certificate chain`, cause);
  }
}

/**
 * The key for the next certificate: the one saved by an earlier attempt (DIR/pending-key.pem), unless it
 * is `current` (a key is never certified twice); otherwise a new Ed25519 key, saved before it is used.
 */
export async function pendingKey(
  dir: string,
  current?: KeyObject,
): Promise<{ keyPem: string; privateKey: KeyObject }> {
  const saved = await readPrivateFile(dir, PENDING_KEY_FILE);
  if (saved !== undefined) {
    let privateKey: KeyObject;
    try {
      privateKey = createPrivateKey(saved);
    } catch (cause) {
      throw new EdgeError('EDGE_INVALID_KEY', `${PENDING_KEY_FILE} is not a private key`, { cause });
    }
    if (
      privateKey.asymmetricKeyType === 'ed25519' &&
      !(current !== undefined && privateKey.equals(current))
    ) {
      return { keyPem: saved, privateKey };
    }
  }
  const { privateKey } = generateKeyPairSync('ed25519');
  const keyPem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  await writePrivateFile(dir, PENDING_KEY_FILE, keyPem);
  return { keyPem, privateKey };
}
