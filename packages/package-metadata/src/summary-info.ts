import { sanitizeText } from '@opsconductor/contracts/text';
import { MalformedFile } from './bounded-file.ts';

/**
 * An OLE property set stream (MS-OLEPS), as MSI's `\u0005SummaryInformation` is: the first property set's
 * integers and strings by property ID. Offsets are checked against the stream; nothing is read past it.
 */
const MAX_PROPERTIES = 256;
const VT_I2 = 2;
const VT_I4 = 3;
const VT_LPSTR = 0x1e;
const PID_CODEPAGE = 1;

export type PropertyValue = number | string;

export function readPropertySet(stream: Buffer): Map<number, PropertyValue> {
  if (stream.length < 48 || stream.readUInt16LE(0) !== 0xfffe) throw new MalformedFile('property set header malformed');
  if (stream.readUInt32LE(24) < 1) throw new MalformedFile('property set stream holds no set');
  const base = stream.readUInt32LE(44);
  if (base + 8 > stream.length) throw new MalformedFile('property set offset out of range');
  const count = Math.min(stream.readUInt32LE(base + 4), MAX_PROPERTIES);
  const raw: { id: number; at: number }[] = [];
  for (let i = 0; i < count; i++) {
    const entry = base + 8 + i * 8;
    if (entry + 8 > stream.length) throw new MalformedFile('property set truncated');
    raw.push({ id: stream.readUInt32LE(entry), at: base + stream.readUInt32LE(entry + 4) });
  }
  const integer = (at: number): number | undefined => {
    if (at + 4 > stream.length) return undefined;
    const type = stream.readUInt16LE(at);
    if (type === VT_I2 && at + 6 <= stream.length) return stream.readInt16LE(at + 4);
    if (type === VT_I4 && at + 8 <= stream.length) return stream.readInt32LE(at + 4);
    return undefined;
  };
  const codepageAt = raw.find((p) => p.id === PID_CODEPAGE)?.at;
  const codepage = codepageAt === undefined ? undefined : integer(codepageAt);
  const decode = decoderFor(codepage === undefined ? 1252 : codepage & 0xffff);
  const out = new Map<number, PropertyValue>();
  for (const { id, at } of raw) {
    if (at + 4 > stream.length) continue;
    const type = stream.readUInt16LE(at);
    if (type === VT_LPSTR) {
      if (at + 8 > stream.length) continue;
      const size = stream.readUInt32LE(at + 4);
      const end = Math.min(at + 8 + size, stream.length);
      const bytes = stream.subarray(at + 8, end);
      const nul = bytes.indexOf(0);
      out.set(id, sanitizeText(decode(nul === -1 ? bytes : bytes.subarray(0, nul))));
    } else {
      const value = integer(at);
      if (value !== undefined) out.set(id, value);
    }
  }
  return out;
}

/** Code pages MSIs are written in: UTF-8, the Windows ANSI pages, the CJK double-byte ones; anything else as Latin-1. */
function decoderFor(codepage: number): (bytes: Buffer) => string {
  const label =
    codepage === 65001
      ? 'utf-8'
      : codepage === 874 || (codepage >= 1250 && codepage <= 1258)
        ? `windows-${codepage}`
        : ({ 932: 'shift_jis', 936: 'gbk', 949: 'euc-kr', 950: 'big5' } as Record<number, string>)[codepage];
  if (label) {
    try {
      const decoder = new TextDecoder(label);
      return (bytes) => decoder.decode(bytes);
    } catch {
      // A Node without full ICU lacks the legacy pages: fall through to Latin-1.
    }
  }
  return (bytes) => bytes.toString('latin1');
}
