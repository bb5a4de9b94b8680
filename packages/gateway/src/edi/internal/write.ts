/**
 * Serialises one outbound interchange holding one group and one transaction set (ASC X12.5/X12.6): the
 * ISA padded to its fixed widths, SE01 counted, GE01/IEA01 = 1, trailers echoing their headers' control
 * numbers. Threat: a value holding a delimiter would let a caller (or a partner's echoed reference) inject
 * segments into what we send; any such value is refused, never escaped (X12 has no escaping).
 */
import type { OutboundEnvelope } from '../envelope.ts';
import { EdiError } from '../errors.ts';
import type { Delimiters } from '../types.ts';
import { hasControl } from './elements.ts';
import { ISA_WIDTHS } from './isa-layout.ts';

const MAX_CONTROL = 999_999_999;
const invalid = (why: string): EdiError => new EdiError('EDI_INVALID_ARGUMENT', why);

const TERMINATORS_OF_MORE_THAN_ONE = ['\r\n', '\xE2\x80\xA6', '\xC2\x85'];

function delimitersOf(env: OutboundEnvelope): Delimiters {
  const d = env.delimiters ?? {};
  const out: Delimiters = {
    element: d.element ?? '*',
    component: d.component ?? '>',
    repetition: env.version === '5010' ? (d.repetition ?? '^') : undefined,
    segment: d.segment ?? '~',
  };
  const singles = [out.element, out.component, out.repetition].filter((c) => c !== undefined);
  if (out.segment.length !== 1 && !TERMINATORS_OF_MORE_THAN_ONE.includes(out.segment)) {
    throw invalid('the segment terminator is not one character, CRLF or the UTF-8 ellipsis');
  }
  if (out.segment.length === 1) singles.push(out.segment);
  for (const c of singles) {
    if (c.length !== 1 || /[A-Za-z0-9 \t]/.test(c) || (c !== out.segment && /[\r\n\0]/.test(c))) {
      throw invalid('a delimiter is not a single character apart from letters, digits and spaces');
    }
  }
  if (new Set(singles).size !== singles.length) throw invalid('two delimiters are the same character');
  return out;
}

function control(n: number, what: string): string {
  if (!Number.isSafeInteger(n) || n < 1 || n > MAX_CONTROL) {
    throw invalid(`the ${what} control number must be an integer from 1 to ${MAX_CONTROL}`);
  }
  return String(n);
}

/** A value is safe when it holds no delimiter and no control character. */
function checkValue(v: string, d: Delimiters, where: string): void {
  for (const c of [d.element, d.component, d.segment, d.repetition]) {
    if (c !== undefined && v.includes(c)) throw invalid(`${where} holds a delimiter`);
  }
  if (hasControl(v)) throw invalid(`${where} holds a control character`);
}

function utcStamp(now: Date): { yymmdd: string; ccyymmdd: string; hhmm: string } {
  if (Number.isNaN(now.getTime())) throw invalid('now is not a valid date');
  const iso = now.toISOString();
  const ccyymmdd = iso.slice(0, 10).replaceAll('-', '');
  return { ccyymmdd, yymmdd: ccyymmdd.slice(2), hhmm: iso.slice(11, 16).replace(':', '') };
}

function isaField(v: string, k: number, what: string): string {
  const width = ISA_WIDTHS[k - 1] as number;
  if (v.length > width) throw invalid(`${what} is longer than ${width} characters`);
  return v.padEnd(width, ' ');
}

/**
 * The complete interchange for one transaction set whose body segments are `body` (ST/SE excluded), as
 * bytes: values are UTF-8, delimiters are the bytes they stand for (Delimiters holds them as latin1).
 */
export function writeInterchange(
  env: OutboundEnvelope,
  functionalId: string,
  setId: string,
  body: readonly (readonly string[])[],
): Buffer {
  const d = delimitersOf(env);
  const t = utcStamp(env.now);
  const icn = control(env.controlNumbers.interchange, 'interchange').padStart(9, '0');
  const gcn = control(env.controlNumbers.group, 'group');
  const scn = control(env.controlNumbers.transactionSet, 'transaction set').padStart(4, '0');
  const gs08 = env.groupVersion ?? (env.version === '5010' ? '005010' : '004010');
  if (!(env.version === '5010' ? /^005010[A-Z0-9]{0,6}$/ : /^004010[A-Z0-9]{0,6}$/).test(gs08)) {
    throw invalid('the group version does not belong to the interchange version');
  }
  for (const q of [env.sender.qualifier, env.receiver.qualifier]) {
    if (!/^[A-Z0-9]{2}$/.test(q)) throw invalid('an interchange ID qualifier is not two characters');
  }
  for (const id of [env.sender.id, env.receiver.id, env.applicationSender, env.applicationReceiver]) {
    if (id.trim().length === 0) throw invalid('an interchange or application identifier is empty');
    if (!/^[\x20-\x7E]*$/.test(id)) throw invalid('an interchange or application identifier is not ASCII');
    checkValue(id, d, 'an interchange or application identifier');
  }
  if (env.applicationSender.length > 15 || env.applicationReceiver.length > 15) {
    throw invalid('an application code is longer than 15 characters');
  }

  const isa = [
    'ISA',
    '00',
    isaField('', 2, 'ISA02'),
    '00',
    isaField('', 4, 'ISA04'),
    env.sender.qualifier,
    isaField(env.sender.id, 6, 'the sender id'),
    env.receiver.qualifier,
    isaField(env.receiver.id, 8, 'the receiver id'),
    t.yymmdd,
    t.hhmm,
    d.repetition ?? 'U',
    env.version === '5010' ? '00501' : '00401',
    icn,
    env.acknowledgmentRequested === true ? '1' : '0',
    env.test ? 'T' : 'P',
    d.component,
  ];
  const segments: (readonly string[])[] = [
    ['GS', functionalId, env.applicationSender, env.applicationReceiver, t.ccyymmdd, t.hhmm, gcn, 'X', gs08],
    ['ST', setId, scn],
    ...body,
    ['SE', String(body.length + 2), scn],
    ['GE', '1', gcn],
    ['IEA', '1', icn],
  ];
  let out = isa.join(d.element) + d.segment;
  for (const seg of segments) {
    let last = seg.length - 1;
    while (last > 0 && seg[last] === '') last -= 1;
    const kept = seg.slice(0, last + 1).map((v, k) => {
      const bytes = Buffer.from(v, 'utf8').toString('latin1');
      checkValue(bytes, d, `${seg[0]}${String(k).padStart(2, '0')}`);
      return bytes;
    });
    out += kept.join(d.element) + d.segment;
  }
  return Buffer.from(out, 'latin1');
}
