import { headerValue, type Direction, type RpcMessageEvent, type RpcStatusEvent } from '../../../app/proxy-events.js';
import { formatBytes } from '../format.js';
import { decodeBase64, hexPreview, type MessageCounts } from '../messages/message-common.js';
import type { ExchangeView } from '../model/exchange.js';
import { OUTCOME_WORDS, RPC_PROTOCOL_NAMES } from '../store/exchange-row.js';
import { decodeRaw } from '../../../app/protobuf-raw.js';
import { fieldsToJson } from './field-json.js';
import type { CallSchema } from '../store/schemas.js';
import { decodeForDisplay, decodeKey, type DecodedMessage } from './rpc-decode.js';

/**
 * Text for the RPC messages view: a frame's kind, one-line previews, what the filter searches,
 * counts and the call's status in words. Pure, so it is tested without a DOM.
 */

/** The frame kinds as the table names them. */
export type FrameKind = 'message' | 'trailers' | 'end';

export function frameKind(message: RpcMessageEvent): FrameKind {
  return message.kind === 'end-stream' ? 'end' : message.kind;
}

/** Longest preview a one-line cell gets; the cell clips it anyway, and huge text would slow layout. */
const PREVIEW_CHARS = 200;

const previews = new WeakMap<RpcMessageEvent, { readonly key: object; readonly preview: string }>();

/**
 * One line for the data column, made once per message and schema revision, when its row is drawn:
 * a protobuf message as compact JSON (with the call's schema, by field name; without, by field
 * number), a JSON or text frame as sent with its line breaks shown as ⏎, bytes that do not decode
 * as hex.
 */
export function rpcPreview(message: RpcMessageEvent, call?: CallSchema): string {
  const key = decodeKey(message, call);
  const cached = previews.get(message);
  if (cached?.key === key) return cached.preview;
  const preview = previewOf(message, decodeForDisplay(message, call));
  previews.set(message, { key, preview });
  return preview;
}

function previewOf(message: RpcMessageEvent, decoded: DecodedMessage): string {
  switch (decoded.how) {
    case 'schema':
    case 'fields':
      return compactJson(decoded.value, PREVIEW_CHARS);
    case 'json':
    case 'text':
      return oneLine(message.data);
    case 'bytes':
      return `${formatBytes(message.size)}, ${decoded.why}: ${hexPreview(message.data)}`;
  }
}

function oneLine(text: string): string {
  const head = text.length > PREVIEW_CHARS ? `${text.slice(0, PREVIEW_CHARS)}…` : text;
  return head.replace(/\r?\n/g, ' ⏎ ');
}

/**
 * JSON on one line, stopped soon after `maxChars` (a long message's preview does not pay for
 * writing all of it): the value is written field by field until the text is long enough.
 */
export function compactJson(value: unknown, maxChars = Infinity): string {
  const out: string[] = [];
  let length = 0;
  const write = (text: string): boolean => {
    out.push(text);
    length += text.length;
    return length <= maxChars;
  };
  const walk = (node: unknown): boolean => {
    if (Array.isArray(node)) {
      if (!write('[')) return false;
      for (let i = 0; i < node.length; i++) {
        if ((i > 0 && !write(',')) || !walk(node[i])) return false;
      }
      return write(']');
    }
    if (typeof node === 'object' && node !== null) {
      if (!write('{')) return false;
      let first = true;
      for (const [key, item] of Object.entries(node)) {
        if ((!first && !write(',')) || !write(`${JSON.stringify(key)}:`) || !walk(item)) return false;
        first = false;
      }
      return write('}');
    }
    return write(JSON.stringify(node) ?? 'null');
  };
  const whole = walk(value);
  const text = out.join('');
  return whole ? text : `${text.slice(0, maxChars)}…`;
}

/** The texts of a frame the table's filter looks in: what its row shows, in full. */
export function searchedText(message: RpcMessageEvent, call?: CallSchema): string {
  const decoded = decodeForDisplay(message, call);
  if (decoded.how === 'schema' || decoded.how === 'fields') return compactJson(decoded.value);
  if (decoded.how === 'bytes') return `${hexPreview(message.data)} ${message.data}`;
  return message.data;
}

/**
 * The name of the compression a direction's frames declared (`gzip`), for the compressed mark:
 * gRPC and gRPC-Web say it in `grpc-encoding`, Connect streaming in `connect-content-encoding`,
 * Connect unary in `content-encoding`; undefined when none is named.
 */
export function frameEncoding(x: ExchangeView, direction: Direction): string | undefined {
  const headers = direction === 'request' ? x.opened.request.headers : x.response?.response.headers;
  const field =
    x.rpc?.protocol === 'connect-unary'
      ? 'content-encoding'
      : x.rpc?.protocol === 'connect'
        ? 'connect-content-encoding'
        : 'grpc-encoding';
  const name = headerValue(headers, field)?.trim();
  return name && name !== 'identity' ? name : undefined;
}

/** Frames and their bytes both ways, from the store's true totals (dropped frames still count). */
export function rpcCounts(x: ExchangeView): MessageCounts {
  return {
    sent: x.requestBody.rpcTotals.frames,
    received: x.responseBody.rpcTotals.frames,
    sentBytes: x.requestBody.rpcTotals.bytes,
    receivedBytes: x.responseBody.rpcTotals.bytes,
  };
}

const SOURCE_WORDS: Record<RpcStatusEvent['source'], string> = {
  trailers: 'from the trailers',
  'trailers-only': 'from a trailers-only response',
  'trailer-frame': 'from the gRPC-Web trailer frame',
  'end-stream': 'from the end-of-stream message',
  'unary-error': 'from the error body',
  'http-status': 'from the HTTP status (the server sent none)',
};

/** "OK (0)", "NOT_FOUND (5)". */
export function statusName(status: RpcStatusEvent): string {
  return `${status.name} (${status.code})`;
}

/** Where the status came from, in words: "gRPC status from the trailers". */
export function statusSource(status: RpcStatusEvent): string {
  return `${RPC_PROTOCOL_NAMES[status.protocol]} status ${SOURCE_WORDS[status.source]}`;
}

/**
 * What the view says while there is no status: the call still open, or how it ended without one
 * (an HTTP/2 reset names its code).
 */
export function noStatusText(x: ExchangeView): string {
  const closed = x.closed;
  if (!closed) return 'No status yet: the call is open.';
  const reason = closed.reason ? ` (${closed.reason})` : '';
  const detail = closed.detail ? `: ${closed.detail}` : '';
  return `Ended without a status: ${OUTCOME_WORDS[closed.outcome]}${reason}${detail}.`;
}

/**
 * A status's details as the view shows them: a Connect error's details are JSON already; gRPC's
 * `grpc-status-details-bin` is a base64 `google.rpc.Status` message, shown by field number (1 code,
 * 2 message, 3 the details as `Any`s) when it decodes, else as it came.
 */
export function detailsText(status: RpcStatusEvent): string | undefined {
  const { details } = status;
  if (details === undefined) return undefined;
  if (status.source === 'end-stream' || status.source === 'unary-error') return details;
  const fields = decodeRaw(decodeBase64(details));
  return fields && fields.length > 0
    ? `${compactJson(fieldsToJson(fields))} (google.rpc.Status by field number)`
    : details;
}
