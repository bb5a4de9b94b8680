/**
 * The pinned verifier keys for `fleetgate audit verify --from` and `audit replicate`: the text of
 * GET /v1/audit/vkey (= DIR/pki/audit/vkey.txt), one C2SP verifier key per line, given out of band —
 * a key fetched over the same channel as the checkpoints it verifies proves nothing (docs/audit.md
 * "Keys"). Exactly one Ed25519 and one ML-DSA-65 key, both named by the log's origin; anything else is
 * refused, so a file with one key cannot make a verifier accept single-signature checkpoints.
 */
import type { KeyObject } from 'node:crypto';
import { parseVerifierKey } from '@fleetgate/core/note/verifier-key';

export interface PinnedAuditKeys {
  origin: string;
  publicKey: KeyObject;
  mlDsaPublicKey: KeyObject;
}

/** At most 64 KiB of vkey text (two keys are about 2.8 KB). */
const MAX_VKEY_FILE = 65_536;

/** Parses the vkey file's text; throws TypeError with a reason (never key bytes) when it is unusable. */
export function parsePinnedAuditKeys(text: string): PinnedAuditKeys {
  if (text.length > MAX_VKEY_FILE) throw new TypeError('verifier key file is larger than 64 KiB');
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  if (lines.length !== 2) throw new TypeError(`verifier key file must hold 2 keys, holds ${lines.length}`);
  const keys = lines.map((line, i) => {
    try {
      return parseVerifierKey(line);
    } catch {
      throw new TypeError(`verifier key on line ${i + 1} does not parse`);
    }
  });
  const ed = keys.find((k) => k.alg === 'ed25519');
  const ml = keys.find((k) => k.alg === 'ml-dsa-65');
  if (ed === undefined || ml === undefined) {
    throw new TypeError('verifier key file must hold one Ed25519 and one ML-DSA-65 key');
  }
  if (ed.name !== ml.name) throw new TypeError('the two verifier keys name different origins');
  return { origin: ed.name, publicKey: ed.publicKey, mlDsaPublicKey: ml.publicKey };
}
