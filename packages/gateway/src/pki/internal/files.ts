/**
 * Filesystem discipline for key material: private keys 0600, their folders 0700, certificates 0644;
 * every write goes to a fresh temporary file (O_CREAT|O_EXCL, so it never follows a planted symlink),
 * is fsynced and renamed over the target (rename replaces a symlink rather than writing through it),
 * then the folder is fsynced. A crash leaves either the old file or the new one, never half of one.
 *
 * Threats: key disclosure through loose modes (modes are set explicitly, independent of the umask, and
 * an existing key that group or others can read is refused, as OpenSSH refuses one); a symlink planted
 * where a key will be read (only regular files are read as keys); torn writes.
 */
import { createPrivateKey, type KeyObject, randomBytes, X509Certificate } from 'node:crypto';
import { chmod, lstat, mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { PkiError } from '../errors.ts';

export const PRIVATE_FILE_MODE = 0o600;
export const PUBLIC_FILE_MODE = 0o644;
export const PRIVATE_DIR_MODE = 0o700;
/** Key and certificate files are small; anything larger is not ours. */
const MAX_PEM_BYTES = 64 * 1024;

function isMissing(error: unknown): boolean {
  return error instanceof Error && 'code' in error && error.code === 'ENOENT';
}

/** Creates `path` (and parents) if absent and sets it to 0700; refuses a symlink or a non-directory. */
export async function ensurePrivateDir(path: string): Promise<void> {
  await mkdir(path, { recursive: true, mode: PRIVATE_DIR_MODE });
  const stat = await lstat(path);
  if (!stat.isDirectory()) throw new PkiError('PKI_INSECURE_KEY_FILE', `not a plain directory: ${path}`);
  if ((stat.mode & 0o777) !== PRIVATE_DIR_MODE) await chmod(path, PRIVATE_DIR_MODE);
}

/** Atomically replaces `path` with `data` at exactly `mode`. */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode: number): Promise<void> {
  const temporary = `${path}.${randomBytes(8).toString('hex')}.tmp`;
  try {
    const handle = await open(temporary, 'wx', mode);
    try {
      await handle.chmod(mode); // the umask may have narrowed (or, if odd, widened) the create mode
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
  const folder = await open(dirname(path), 'r');
  try {
    await folder.sync();
  } finally {
    await folder.close();
  }
}

/** Writes `data` unless the file already holds exactly it; returns whether it wrote. */
export async function writeIfChanged(path: string, data: string, mode: number): Promise<boolean> {
  const current = await readTextIfExists(path);
  if (current === data) {
    const stat = await lstat(path);
    if ((stat.mode & 0o777) !== mode) await chmod(path, mode);
    return false;
  }
  await writeFileAtomic(path, data, mode);
  return true;
}

/** The file's text, or undefined if it does not exist. Refuses anything but a small regular file. */
export async function readTextIfExists(path: string): Promise<string | undefined> {
  let stat: Awaited<ReturnType<typeof lstat>>;
  try {
    stat = await lstat(path);
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
  if (!stat.isFile() || stat.size > MAX_PEM_BYTES) {
    throw new PkiError('PKI_STATE_CONFLICT', `not a regular PEM file: ${path}`);
  }
  return readFile(path, 'utf8');
}

/**
 * The stat of a private-key file, or undefined if absent. Refuses anything but a regular file (a link
 * could point anywhere) and a file group or others can read.
 */
export async function statPrivateFile(path: string): Promise<Awaited<ReturnType<typeof lstat>> | undefined> {
  let stat: Awaited<ReturnType<typeof lstat>>;
  try {
    stat = await lstat(path);
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
  if (!stat.isFile()) throw new PkiError('PKI_INSECURE_KEY_FILE', `key is not a regular file: ${path}`);
  if ((stat.mode & 0o077) !== 0) {
    throw new PkiError('PKI_INSECURE_KEY_FILE', `key is readable by group or others (chmod 600): ${path}`);
  }
  return stat;
}

/** The private key in `path` (PKCS#8 PEM), or undefined if absent. Refuses a key others can read. */
export async function readPrivateKeyIfExists(path: string): Promise<KeyObject | undefined> {
  if ((await statPrivateFile(path)) === undefined) return undefined;
  const pem = await readTextIfExists(path);
  try {
    return createPrivateKey({ key: pem ?? '', format: 'pem' });
  } catch (cause) {
    // The cause is node's parse error, which names no key bytes.
    throw new PkiError('PKI_STATE_CONFLICT', `unreadable private key: ${path}`, { cause });
  }
}

/** The certificate in `path` (PEM), or undefined if absent. */
export async function readCertificateIfExists(path: string): Promise<X509Certificate | undefined> {
  const pem = await readTextIfExists(path);
  if (pem === undefined) return undefined;
  try {
    return new X509Certificate(pem);
  } catch (cause) {
    throw new PkiError('PKI_MALFORMED_CERTIFICATE', `unreadable certificate: ${path}`, { cause });
  }
}

export function privateKeyPem(key: KeyObject): string {
  return key.export({ format: 'pem', type: 'pkcs8' }).toString();
}

export function certificatePem(certificate: X509Certificate): string {
  return `${certificate.toString().trimEnd()}\n`;
}
