/**
 * The C2SP tlog-witness add-checkpoint request body (https://c2sp.org/tlog-witness, "add-checkpoint"):
 *
 *   old <size>\n                 decimal, no leading zeros ("0" for none)
 *   <base64 hash>\n ...          0 to 63 consistency proof lines (RFC 6962 §2.1.2 / RFC 9162 §2.1.4)
 *   \n
 *   <signed checkpoint note>     origin, size, root, blank line, signature lines
 *
 * The witness parses it (parseAddCheckpointBody), the gateway's witness client writes it
 * (formatAddCheckpointBody). The body is attacker-controlled: its size is bounded by the server before it
 * gets here, it must be UTF-8, sizes stay below 2^53, every proof line is canonical padded base64 of
 * exactly 32 bytes, and at most 63 of them. Anything else is AddCheckpointBodyError (400).
 */

const DECIMAL_RE = /^(?:0|[1-9][0-9]{0,15})$/;
const HASH_B64_RE = /^[A-Za-z0-9+/]{43}=$/;
/** The spec: "The client MUST NOT send more than 63 consistency proof lines." */
export const MAX_PROOF_LINES = 63;

export class AddCheckpointBodyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AddCheckpointBodyError';
  }
}

export interface AddCheckpointBody {
  oldSize: number;
  proof: Uint8Array[];
  /** The signed checkpoint note, exactly as received. */
  note: string;
}

const DECODER = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export function parseAddCheckpointBody(bytes: Uint8Array): AddCheckpointBody {
  let text: string;
  try {
    text = DECODER.decode(bytes);
  } catch {
    throw new AddCheckpointBodyError('body is not UTF-8');
  }
  let at = 0;
  const nextLine = (): string => {
    const end = text.indexOf('\n', at);
    if (end < 0) throw new AddCheckpointBodyError('body ends before the empty line');
    const line = text.slice(at, end);
    at = end + 1;
    return line;
  };
  const first = nextLine();
  if (!first.startsWith('old ')) throw new AddCheckpointBodyError('first line is not "old <size>"');
  const sizeText = first.slice(4);
  if (!DECIMAL_RE.test(sizeText) || !Number.isSafeInteger(Number(sizeText))) {
    throw new AddCheckpointBodyError('old size is not a decimal below 2^53 without leading zeros');
  }
  const proof: Uint8Array[] = [];
  for (;;) {
    const line = nextLine();
    if (line === '') break;
    if (proof.length === MAX_PROOF_LINES) {
      throw new AddCheckpointBodyError(`more than ${MAX_PROOF_LINES} consistency proof lines`);
    }
    const hash = Buffer.from(line, 'base64');
    if (!HASH_B64_RE.test(line) || hash.byteLength !== 32 || hash.toString('base64') !== line) {
      throw new AddCheckpointBodyError('a proof line is not the base64 of a 32-byte hash');
    }
    proof.push(new Uint8Array(hash));
  }
  const note = text.slice(at);
  if (note === '') throw new AddCheckpointBodyError('no checkpoint after the empty line');
  return { oldSize: Number(sizeText), proof, note };
}

export function formatAddCheckpointBody(oldSize: number, proof: readonly Uint8Array[], note: string): string {
  const lines = [`old ${oldSize}`, ...proof.map((h) => Buffer.from(h).toString('base64'))];
  return `${lines.join('\n')}\n\n${note}`;
}
