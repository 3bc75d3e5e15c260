/**
 * Reads a TLS ClientHello from the first bytes a client sent after CONNECT, so the proxy learns
 * the SNI server name and the ALPN protocols on offer before it connects upstream with the same
 * offer. Pure: no I/O, never throws, never reads past a length it has not checked.
 *
 * Call it again with all bytes received so far after each read until it answers something other
 * than 'need-more'. The handshake message may be fragmented over several handshake records
 * (RFC 8446 §5.1), which are reassembled; nothing but handshake records may sit between them.
 */

export type ClientHelloRead =
  /** A prefix of what may still be a valid ClientHello: wait for more bytes. */
  | { readonly state: 'need-more' }
  /** The first byte is not a TLS handshake record (0x16): plain HTTP, an SSLv2-style hello, etc. */
  | { readonly state: 'not-tls' }
  /** A TLS record, but not a ClientHello we can read (too large, bad lengths, wrong handshake type). */
  | { readonly state: 'malformed'; readonly detail: string }
  | {
      readonly state: 'complete';
      /** The first host_name in server_name, or undefined when there is none. */
      readonly serverName: string | undefined;
      /** The ALPN protocol names in the client's order (one char per byte), or undefined without ALPN. */
      readonly alpn: readonly string[] | undefined;
      /** How many bytes of the input the records carrying the ClientHello take, headers included. */
      readonly length: number;
    };

/**
 * The most bytes the records carrying a ClientHello may take, record headers included; a hello
 * that needs more is 'malformed'. So a caller that buffers until an answer never holds more than
 * this: 'need-more' is only ever answered for fewer bytes.
 */
export const MAX_CLIENT_HELLO_BYTES = 64 * 1024;

const CONTENT_TYPE_HANDSHAKE = 0x16;
const HANDSHAKE_CLIENT_HELLO = 1;
const RECORD_HEADER_BYTES = 5;
const HANDSHAKE_HEADER_BYTES = 4;
/** RFC 8446 §5.1: a record's fragment must not exceed 2^14 bytes. */
const MAX_FRAGMENT_BYTES = 1 << 14;
const EXTENSION_SERVER_NAME = 0;
const EXTENSION_ALPN = 16;
const NAME_TYPE_HOST_NAME = 0;

const NEED_MORE: ClientHelloRead = { state: 'need-more' };
const NOT_TLS: ClientHelloRead = { state: 'not-tls' };

export function readClientHello(bytes: Buffer): ClientHelloRead {
  if (bytes.length === 0) return NEED_MORE;
  if (bytes[0] !== CONTENT_TYPE_HANDSHAKE) return NOT_TLS;

  const fragments: Buffer[] = [];
  let gathered = 0;
  /** Handshake header plus body, once the header has arrived. */
  let messageLength: number | undefined;

  for (let offset = 0; ;) {
    if (offset + RECORD_HEADER_BYTES > MAX_CLIENT_HELLO_BYTES) return overLimit();
    const header = bytes.subarray(offset, offset + RECORD_HEADER_BYTES);
    if (header.length >= 1 && header[0] !== CONTENT_TYPE_HANDSHAKE) {
      return malformed(`record at byte ${offset} has content type ${header[0]}, not handshake, inside the ClientHello`);
    }
    if (header.length >= 2 && header[1] !== 3) {
      return malformed(`record at byte ${offset} has version major ${header[1]}, not 3`);
    }
    if (header.length < RECORD_HEADER_BYTES) return NEED_MORE;

    const fragmentLength = header.readUInt16BE(3);
    if (fragmentLength === 0) return malformed(`record at byte ${offset} is empty`);
    if (fragmentLength > MAX_FRAGMENT_BYTES) {
      return malformed(`record at byte ${offset} claims ${fragmentLength} bytes, over the ${MAX_FRAGMENT_BYTES} limit`);
    }
    const recordEnd = offset + RECORD_HEADER_BYTES + fragmentLength;
    if (recordEnd > MAX_CLIENT_HELLO_BYTES) return overLimit();

    const fragment = bytes.subarray(offset + RECORD_HEADER_BYTES, recordEnd);
    fragments.push(fragment);
    gathered += fragment.length;

    if (messageLength === undefined) {
      const head = Buffer.concat(fragments, Math.min(gathered, HANDSHAKE_HEADER_BYTES));
      if (head.length >= 1 && head[0] !== HANDSHAKE_CLIENT_HELLO) {
        return malformed(`handshake message type ${head[0]}, not ClientHello (1)`);
      }
      if (head.length === HANDSHAKE_HEADER_BYTES) {
        messageLength = HANDSHAKE_HEADER_BYTES + head.readUIntBE(1, 3);
        // Even in a single record, the message needs one record header besides itself.
        if (RECORD_HEADER_BYTES + messageLength > MAX_CLIENT_HELLO_BYTES) return overLimit();
      }
    }

    if (recordEnd > bytes.length) return NEED_MORE;
    if (messageLength !== undefined && gathered >= messageLength) {
      const body = Buffer.concat(fragments, messageLength).subarray(HANDSHAKE_HEADER_BYTES);
      const hello = parseClientHelloBody(body);
      if (hello instanceof Problem) return malformed(hello.detail);
      return { state: 'complete', serverName: hello.serverName, alpn: hello.alpn, length: recordEnd };
    }
    offset = recordEnd;
  }
}

function malformed(detail: string): ClientHelloRead {
  return { state: 'malformed', detail };
}

function overLimit(): ClientHelloRead {
  return malformed(`ClientHello records would exceed ${MAX_CLIENT_HELLO_BYTES} bytes`);
}

/** Why a ClientHello body could not be read; returned, not thrown. */
class Problem {
  readonly detail: string;
  constructor(detail: string) {
    this.detail = detail;
  }
}

interface Offer {
  serverName: string | undefined;
  alpn: readonly string[] | undefined;
}

/** Reads a buffer front to back; every read is bounds-checked and answers undefined when short. */
class Cursor {
  private position = 0;
  private readonly buffer: Buffer;

  constructor(buffer: Buffer) {
    this.buffer = buffer;
  }

  get remaining(): number {
    return this.buffer.length - this.position;
  }

  take(count: number): Buffer | undefined {
    if (count > this.remaining) return undefined;
    const taken = this.buffer.subarray(this.position, this.position + count);
    this.position += count;
    return taken;
  }

  uint(width: 1 | 2): number | undefined {
    return this.take(width)?.readUIntBE(0, width);
  }

  /** A vector behind a `width`-byte length prefix. */
  vector(width: 1 | 2): Buffer | undefined {
    const length = this.uint(width);
    return length === undefined ? undefined : this.take(length);
  }
}

/** RFC 8446 §4.1.2 (and RFC 5246 §7.4.1.2, where extensions may be absent). */
function parseClientHelloBody(body: Buffer): Offer | Problem {
  const cursor = new Cursor(body);
  const version = cursor.take(2);
  if (version === undefined) return new Problem('ClientHello ends inside legacy_version');
  if (version[0] !== 3) return new Problem(`ClientHello legacy_version major is ${version[0]}, not 3`);
  if (cursor.take(32) === undefined) return new Problem('ClientHello ends inside random');
  const sessionId = cursor.vector(1);
  if (sessionId === undefined) return new Problem('session_id overruns the ClientHello');
  if (sessionId.length > 32) return new Problem(`session_id is ${sessionId.length} bytes, over 32`);
  const cipherSuites = cursor.vector(2);
  if (cipherSuites === undefined) return new Problem('cipher_suites overruns the ClientHello');
  if (cipherSuites.length === 0 || cipherSuites.length % 2 !== 0) {
    return new Problem(`cipher_suites is ${cipherSuites.length} bytes, not a positive even number`);
  }
  const compression = cursor.vector(1);
  if (compression === undefined) return new Problem('compression_methods overruns the ClientHello');
  if (compression.length === 0) return new Problem('compression_methods is empty');
  if (cursor.remaining === 0) return { serverName: undefined, alpn: undefined };
  const extensions = cursor.vector(2);
  if (extensions === undefined) return new Problem('extensions overrun the ClientHello');
  if (cursor.remaining !== 0) return new Problem(`${cursor.remaining} bytes follow the extensions`);
  return parseExtensions(extensions);
}

function parseExtensions(block: Buffer): Offer | Problem {
  const cursor = new Cursor(block);
  const seen = new Set<number>();
  const offer: Offer = { serverName: undefined, alpn: undefined };
  while (cursor.remaining > 0) {
    const type = cursor.uint(2);
    const data = cursor.vector(2);
    if (type === undefined || data === undefined) return new Problem('an extension overruns the extensions block');
    // RFC 8446 §4.2: at most one of each; two server_names would let the proxy and upstream disagree.
    if (seen.has(type)) return new Problem(`extension ${type} appears twice`);
    seen.add(type);
    if (type === EXTENSION_SERVER_NAME) {
      const serverName = parseServerName(data);
      if (serverName instanceof Problem) return serverName;
      offer.serverName = serverName;
    } else if (type === EXTENSION_ALPN) {
      const alpn = parseAlpn(data);
      if (alpn instanceof Problem) return alpn;
      offer.alpn = alpn;
    }
  }
  return offer;
}

/** RFC 6066 §3: a ServerNameList; the first host_name entry wins. */
function parseServerName(data: Buffer): string | undefined | Problem {
  const cursor = new Cursor(data);
  const list = cursor.vector(2);
  if (list === undefined || cursor.remaining !== 0) {
    return new Problem('server_name list length does not match its extension');
  }
  if (list.length === 0) return new Problem('server_name list is empty');
  const entries = new Cursor(list);
  let hostName: string | undefined;
  while (entries.remaining > 0) {
    const nameType = entries.uint(1);
    const name = entries.vector(2);
    if (nameType === undefined || name === undefined) return new Problem('a server_name entry overruns its list');
    if (nameType !== NAME_TYPE_HOST_NAME || hostName !== undefined) continue;
    if (name.length === 0) return new Problem('host_name is empty');
    if (!isPrintableAscii(name)) return new Problem('host_name is not printable ASCII');
    hostName = name.toString('latin1');
  }
  return hostName;
}

/** RFC 7301 §3.1: a non-empty list of non-empty protocol names. */
function parseAlpn(data: Buffer): string[] | Problem {
  const cursor = new Cursor(data);
  const list = cursor.vector(2);
  if (list === undefined || cursor.remaining !== 0) return new Problem('ALPN list length does not match its extension');
  if (list.length === 0) return new Problem('ALPN list is empty');
  const names = new Cursor(list);
  const protocols: string[] = [];
  while (names.remaining > 0) {
    const name = names.vector(1);
    if (name === undefined) return new Problem('an ALPN protocol name overruns its list');
    if (name.length === 0) return new Problem('an ALPN protocol name is empty');
    protocols.push(name.toString('latin1'));
  }
  return protocols;
}

/** Visible ASCII only: a host name with a space, control byte or NUL is not one to connect to or log. */
function isPrintableAscii(bytes: Buffer): boolean {
  for (const byte of bytes) if (byte < 0x21 || byte > 0x7e) return false;
  return true;
}
