/** SHA-256 over node:crypto; the one digest the log, thumbprints and key ids use. */
import { createHash } from 'node:crypto';

export function sha256(...parts: readonly Uint8Array[]): Uint8Array {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}
