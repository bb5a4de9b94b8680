/**
 * Where a key provider's secret comes from — the file provider's passphrase, the PKCS#11 user PIN: an
 * environment variable or a file that only its owner can read (0600, like an OpenSSH private key). A
 * key document records *where* its secret is (the variable's name or the file's path), never the secret.
 *
 * Threats: a secret file others can read (refused with PKI_INSECURE_KEY_FILE, as the CA key files are);
 * a symlink planted where the secret is read (only regular files are read); a secret echoed into an
 * error or a log line (messages name the source, never the value); a weak passphrase (a minimum length).
 */
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, readFile } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { PkiError } from '../errors.ts';
import { ensurePrivateDir, PRIVATE_FILE_MODE, writeFileAtomic } from '../internal/files.ts';

export type SecretRef = { readonly env: string } | { readonly file: string };

/** Environment variable names we accept: POSIX portable, upper case. */
export const ENV_NAME_PATTERN = /^[A-Z_][A-Z0-9_]{0,127}$/;
const MAX_SECRET_BYTES = 4096;

export interface SecretContext {
  /** Relative secret file paths are resolved against the data directory. */
  readonly dataDir: string;
  /** Default process.env. */
  readonly env?: NodeJS.ProcessEnv;
}

function isMissing(error: unknown): boolean {
  return error instanceof Error && 'code' in error && error.code === 'ENOENT';
}

/** A JSON value read from disk as a SecretRef, or undefined if it is not one. */
export function parseSecretRef(value: unknown): SecretRef | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const keys = Object.keys(value);
  const v = value as Record<string, unknown>;
  if (keys.length === 1 && typeof v.env === 'string' && ENV_NAME_PATTERN.test(v.env)) return { env: v.env };
  if (keys.length === 1 && typeof v.file === 'string' && v.file.length > 0 && v.file.length <= 4096) {
    if (!v.file.includes('\0')) return { file: v.file };
  }
  return undefined;
}

export function describeSecretRef(ref: SecretRef): string {
  return 'env' in ref ? `environment variable ${ref.env}` : `file ${ref.file}`;
}

export function secretFilePath(file: string, dataDir: string): string {
  return isAbsolute(file) ? file : resolve(dataDir, file);
}

/**
 * Reads the secret. `minLength` guards against an empty or trivially short value; the error names the
 * source and the rule, never the value.
 */
export async function readSecret(
  ref: SecretRef,
  context: SecretContext,
  what: string,
  minLength: number,
): Promise<string> {
  let value: string;
  if ('env' in ref) {
    const raw = (context.env ?? process.env)[ref.env];
    if (raw === undefined || raw === '') {
      throw new PkiError('PKI_KEY_UNAVAILABLE', `${what}: ${describeSecretRef(ref)} is not set`);
    }
    value = raw;
  } else {
    const path = secretFilePath(ref.file, context.dataDir);
    let stat: Awaited<ReturnType<typeof lstat>>;
    try {
      stat = await lstat(path);
    } catch (error) {
      if (isMissing(error)) throw new PkiError('PKI_KEY_UNAVAILABLE', `${what}: no file ${path}`);
      throw error;
    }
    if (!stat.isFile()) throw new PkiError('PKI_INSECURE_KEY_FILE', `${what}: not a regular file: ${path}`);
    if ((stat.mode & 0o077) !== 0) {
      throw new PkiError(
        'PKI_INSECURE_KEY_FILE',
        `${what}: readable by group or others (chmod 600): ${path}`,
      );
    }
    if (stat.size > MAX_SECRET_BYTES) {
      throw new PkiError('PKI_KEY_UNAVAILABLE', `${what}: file over ${MAX_SECRET_BYTES} bytes: ${path}`);
    }
    value = (await readFile(path, 'utf8')).replace(/\r?\n$/, '');
  }
  if (value.length < minLength || value.length > MAX_SECRET_BYTES) {
    throw new PkiError(
      'PKI_KEY_UNAVAILABLE',
      `${what}: the value in ${describeSecretRef(ref)} must be ${minLength}-${MAX_SECRET_BYTES} characters`,
    );
  }
  return value;
}

/**
 * Creates the secret file with 32 random bytes (base64url, 43 characters) if it does not exist, its
 * folder 0700 and the file 0600. Returns the path when it wrote one. An existing file is left alone.
 */
export async function ensureGeneratedSecretFile(file: string, dataDir: string): Promise<string | undefined> {
  const path = secretFilePath(file, dataDir);
  try {
    await lstat(path);
    return undefined;
  } catch (error) {
    if (!isMissing(error)) throw error;
  }
  // A folder inside the data directory is ours (0700); one outside it is created if absent, never chmod-ed.
  const parent = dirname(path);
  const inside = !relative(resolve(dataDir), parent).startsWith('..');
  if (inside) await ensurePrivateDir(parent);
  else await mkdir(parent, { recursive: true, mode: 0o700 });
  await writeFileAtomic(path, `${randomBytes(32).toString('base64url')}\n`, PRIVATE_FILE_MODE);
  return path;
}
