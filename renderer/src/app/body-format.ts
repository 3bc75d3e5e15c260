/** Pure helpers for showing a body: text or binary, pretty JSON, a hex dump. */

export function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    // A capture cut mid-character is still text: only the last 3 bytes may be an incomplete sequence.
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    if (bytes.length > 3) {
      try {
        return new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, trimmedEnd(bytes)));
      } catch {
        return undefined;
      }
    }
    return undefined;
  }
}

/** The end of `bytes` without a trailing incomplete UTF-8 sequence. */
function trimmedEnd(bytes: Uint8Array): number {
  for (let back = 1; back <= 3; back++) {
    const byte = bytes[bytes.length - back]!;
    if ((byte & 0xc0) !== 0x80) return (byte & 0x80) === 0 ? bytes.length : bytes.length - back;
  }
  return bytes.length;
}

/** Pretty JSON when the text is one JSON value; undefined otherwise. */
export function prettyJson(text: string): string | undefined {
  const trimmed = text.trim();
  if (!trimmed || !'[{"'.includes(trimmed[0]!)) return undefined;
  try {
    return JSON.stringify(JSON.parse(trimmed), null, 2);
  } catch {
    return undefined;
  }
}

/** Classic 16-bytes-per-line dump: offset, hex, printable ASCII. */
export function hexDump(bytes: Uint8Array, maxBytes: number): string {
  const end = Math.min(bytes.length, maxBytes);
  const lines: string[] = [];
  for (let offset = 0; offset < end; offset += 16) {
    let hex = '';
    let ascii = '';
    for (let i = 0; i < 16; i++) {
      const at = offset + i;
      if (at < end) {
        const byte = bytes[at]!;
        hex += byte.toString(16).padStart(2, '0') + (i === 7 ? '  ' : ' ');
        ascii += byte >= 0x20 && byte < 0x7f ? String.fromCharCode(byte) : '.';
      } else {
        hex += i === 7 ? '    ' : '   ';
      }
    }
    lines.push(`${offset.toString(16).padStart(8, '0')}  ${hex} ${ascii}`);
  }
  return lines.join('\n');
}
