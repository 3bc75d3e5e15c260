import { textSearch, type RuleAction, type RuleActionType, type RuleEventChoice } from '../../app/stream-rules.js';
import {
  maskedWith,
  webSocketFrame,
  webSocketHeaderSize,
  webSocketPayloadLength,
} from '../capture/websocket-frames.js';
import type { EventFraming } from './event-bounds.js';
import { framedMessage, messageFrame, type MessageCodec } from './message-codec.js';

export type ContentAction = Extract<RuleAction, { type: 'drop' | 'duplicate' | 'inject' | 'rewrite' | 'corrupt' }>;

export interface ContentStep {
  readonly rule: string;
  readonly action: ContentAction;
}

/** What an edit did, for the exchange's events. */
export type EditReport = (rule: string, action: RuleActionType, detail: string) => void;

/** What a rule did to one event the client gets, told when that event goes (so its number is known). */
export interface EditNote {
  readonly rule: string;
  readonly action: RuleActionType;
  readonly detail: string;
}

/** An event as it will go to the client, and what rules did to it. */
export interface EditedEvent {
  readonly bytes: Buffer;
  readonly notes: readonly EditNote[];
}

interface Out {
  bytes: Buffer;
  /** The event as it came (possibly rewritten), as opposed to one a rule put in. */
  readonly original: boolean;
  notes: EditNote[];
}

/**
 * Applies content rules to whole events (SSE events, NDJSON lines, WebSocket frames, gRPC
 * messages), one event at a time: each comes
 * in whole and leaves as zero or more whole events (a `corrupt` one as a torn half). Rules apply
 * in order; which events a rule takes is decided on the event as it came. RPC messages are read
 * and written as JSON through `codec` (their schema); without one they can only be dropped,
 * duplicated or torn.
 */
export class EventEditor {
  private readonly searches: (RegExp | undefined)[];

  constructor(
    private readonly steps: readonly ContentStep[],
    private readonly framing: Exclude<EventFraming, 'chunks'>,
    private readonly report: EditReport,
    private readonly codec?: MessageCodec,
  ) {
    this.searches = steps.map(({ action }) => (action.where === undefined ? undefined : textSearch(action.where)));
  }

  /**
   * Event number `index` (from 1), edited. What happened to an event that is dropped is reported
   * now; the rest rides on the events that go, to be told with their numbers.
   */
  edit(event: Buffer, index: number): EditedEvent[] {
    const text = textOf(event, this.framing, this.codec);
    let out: Out[] = [{ bytes: event, original: true, notes: [] }];
    this.steps.forEach(({ rule, action }, i) => {
      if (!choosesEvent(action, this.searches[i], index, text)) return;
      switch (action.type) {
        case 'drop':
          out = out.filter((o) => !o.original);
          this.report(rule, 'drop', `dropped event ${index}`);
          break;
        case 'duplicate':
          out = out.flatMap((o) =>
            o.original
              ? [o, { ...o, notes: [...o.notes, { rule, action: 'duplicate', detail: `sent event ${index} again` }] }]
              : [o],
          );
          break;
        case 'inject': {
          const note: EditNote = {
            rule,
            action: 'inject',
            detail: `put in ${action.position ?? 'after'} event ${index}`,
          };
          const bytes = this.wire(action.data, event);
          if (typeof bytes === 'string') {
            this.report(rule, 'inject', `put nothing in ${action.position ?? 'after'} event ${index}: ${bytes}`);
            break;
          }
          const injected: Out = { bytes, original: false, notes: [note] };
          const at = out.findIndex((o) => o.original);
          const where = at < 0 ? out.length : action.position === 'before' ? at : at + 1;
          out.splice(where, 0, injected);
          break;
        }
        case 'rewrite':
          for (const o of out) {
            if (!o.original) continue;
            const rewritten = this.rewriteEvent(action, o.bytes);
            if (typeof rewritten === 'string') {
              this.report(rule, 'rewrite', `left event ${index} as it was: ${rewritten}`);
              return;
            }
            o.bytes = rewritten;
            o.notes.push({ rule, action: 'rewrite', detail: `rewrote event ${index}` });
          }
          break;
        case 'corrupt':
          for (const o of out) {
            if (!o.original) continue;
            o.bytes = o.bytes.subarray(0, Math.max(1, Math.floor(o.bytes.length / 2)));
            o.notes.push({ rule, action: 'corrupt', detail: `cut event ${index} off mid-line` });
          }
          break;
      }
    });
    return out.map(({ bytes, notes }) => ({ bytes, notes }));
  }

  /**
   * `data` as a whole event: ended with the empty line (SSE) or the newline (NDJSON) it lacks, a
   * WebSocket text frame, or an RPC message encoded from JSON (else why it cannot be).
   */
  private wire(data: string, beside: Buffer): Buffer | string {
    // A client's frames are masked (RFC 6455 section 5.3); one put among them must be too.
    if (this.framing === 'websocket') return webSocketTextFrame(Buffer.from(data, 'utf8'), isMaskedFrame(beside));
    if (this.framing === 'frames') {
      if (!this.codec) return 'no schema for this call';
      const encoded = this.codec.encode(data);
      return Buffer.isBuffer(encoded) ? messageFrame(encoded) : encoded.error;
    }
    return wholeEvent(this.framing, Buffer.from(data, 'utf8'));
  }

  /**
   * The event rewritten, or why it cannot be. An SSE event or a line is rewritten as text; a
   * WebSocket message and an RPC message through their view (text, JSON by the schema).
   */
  private rewriteEvent(action: Extract<ContentAction, { type: 'rewrite' }>, event: Buffer): Buffer | string {
    if (this.framing === 'sse' || this.framing === 'lines') {
      const text = this.rewrite(action, event.toString('utf8'));
      return text === undefined ? 'its data is not JSON' : Buffer.from(text, 'utf8');
    }
    const view = eventView(event, this.framing, this.codec);
    if (typeof view === 'string') return view;
    const text = action.replace
      ? view.text.replace(textSearch(action.replace.from), action.replace.to)
      : setJson(view.text, action.set!.path, action.set!.value);
    return text === undefined ? 'its data is not JSON' : view.wire(Buffer.from(text, 'utf8'));
  }

  private rewrite(action: Extract<ContentAction, { type: 'rewrite' }>, text: string): string | undefined {
    if (action.replace) {
      const from = textSearch(action.replace.from);
      return text.replace(from, action.replace.to);
    }
    const set = action.set!;
    // The event's body and its ending (the line end, and for SSE the empty line), kept as they were.
    const [, body = '', ending = ''] = /^([\s\S]*?)((?:\r\n|\r|\n)*)$/.exec(text) ?? [];
    if (this.framing === 'lines') {
      const edited = setJson(body, set.path, set.value);
      return edited === undefined ? undefined : `${edited}${ending}`;
    }
    const lines = body.split(/\r\n|\r|\n/);
    const dataLines = lines.filter((line) => line.startsWith('data:'));
    if (dataLines.length === 0) return undefined;
    const data = dataLines.map((line) => line.slice(5).replace(/^ /, '')).join('\n');
    const edited = setJson(data, set.path, set.value);
    if (edited === undefined) return undefined;
    const first = lines.findIndex((line) => line.startsWith('data:'));
    const kept = lines.filter((line, i) => !line.startsWith('data:') || i === first);
    kept[kept.indexOf(lines[first]!)] = `data: ${edited}`;
    return `${kept.join('\n')}${ending}`;
  }
}

/**
 * Whether a content rule or a breakpoint takes event number `index` (from 1), whose text is
 * `text`: by its number, by `search` (made from its `where`), both, or with neither every event.
 */
export function choosesEvent(
  choice: RuleEventChoice,
  search: RegExp | undefined,
  index: number,
  text: string,
): boolean {
  if (choice.event !== undefined && choice.event !== index) return false;
  if (!search) return true;
  search.lastIndex = 0;
  return search.test(text);
}

/**
 * An event as the user reads and edits it where that is more than its bytes: an RPC message's
 * JSON (through its schema), a WebSocket text message's text. `wire` makes an edit of that text
 * an event again, or says why it cannot (an RPC message's JSON that does not fit its type).
 */
export interface EventView {
  readonly text: string;
  wire(edited: Buffer): Buffer | string;
}

/** The event's view, when it has one. */
export function viewOf(event: Buffer, framing: EventFraming, codec: MessageCodec | undefined): EventView | undefined {
  const view = eventView(event, framing, codec);
  return typeof view === 'string' ? undefined : view;
}

/** The event's view, or why it has none. */
function eventView(event: Buffer, framing: EventFraming, codec: MessageCodec | undefined): EventView | string {
  if (framing === 'frames') {
    if (!codec) return 'no schema for this call';
    const message = framedMessage(event);
    if ('error' in message) return message.error;
    const json = codec.decode(message.payload);
    if (typeof json !== 'string') return json.error;
    return {
      text: json,
      wire: (edited) => {
        const encoded = codec.encode(edited.toString('utf8'));
        return Buffer.isBuffer(encoded) ? messageFrame(encoded) : encoded.error;
      },
    };
  }
  if (framing === 'websocket') {
    const message = readWebSocketMessage(event);
    if (typeof message === 'string') return message;
    if (message.compressed || message.opcode !== 1) return 'only an uncompressed text message can be rewritten';
    return { text: message.payload.toString('utf8'), wire: (edited) => rebuiltMessage(message, edited) };
  }
  return 'its events are read as text';
}

/**
 * The text rules match an event by (`where`): its view's text, or its bytes as text. An RPC
 * message that does not decode with its schema has none.
 */
export function textOf(event: Buffer, framing: EventFraming, codec: MessageCodec | undefined): string {
  const view = viewOf(event, framing, codec);
  if (view) return view.text;
  return framing === 'frames' && codec ? '' : event.toString('utf8');
}

/** `bytes` as a whole event: ended with the empty line (SSE) or the newline (lines) it lacks. */
export function wholeEvent(framing: EventFraming, bytes: Buffer): Buffer {
  if (framing !== 'sse' && framing !== 'lines') return bytes;
  const text = bytes.toString('latin1');
  if (framing === 'lines') return text.endsWith('\n') ? bytes : Buffer.concat([bytes, Buffer.from('\n')]);
  if (/(\r\n|\r|\n)(\r\n|\r|\n)$/.test(text)) return bytes;
  return Buffer.concat([bytes, Buffer.from(/(\r\n|\r|\n)$/.test(text) ? '\n' : '\n\n')]);
}

interface WebSocketMessage {
  readonly opcode: number;
  readonly masked: boolean;
  readonly compressed: boolean;
  /** Its payload, fragments joined and unmasked. */
  readonly payload: Buffer;
  /** Control frames (pings, pongs) sent between its fragments, whole. */
  readonly controls: readonly Buffer[];
}

/**
 * A WebSocket message, taken apart: one frame, or its fragments with their payloads joined and
 * unmasked (a client's; RFC 6455 section 5.4: the first frame's opcode and compression bit speak
 * for all) and the control frames sent between them set aside; or why `event` is not one message.
 */
function readWebSocketMessage(event: Buffer): WebSocketMessage | string {
  const payloads: Buffer[] = [];
  const controls: Buffer[] = [];
  let first: { opcode: number; masked: boolean; compressed: boolean } | undefined;
  for (let at = 0; at < event.length;) {
    const frame = event.subarray(at);
    const start = frame.length < 2 ? Infinity : webSocketHeaderSize(frame);
    if (frame.length < start || frame.length < start + webSocketPayloadLength(frame)) return 'not a whole message';
    const end = start + webSocketPayloadLength(frame);
    at += end;
    if ((frame[0]! & 0x0f) >= 0x8) {
      controls.push(frame.subarray(0, end));
      continue;
    }
    first ??= { opcode: frame[0]! & 0x0f, masked: false, compressed: (frame[0]! & 0x40) !== 0 };
    const masked = (frame[1]! & 0x80) !== 0;
    if (masked) first.masked = true;
    payloads.push(
      masked ? maskedWith(frame.subarray(start, end), frame.subarray(start - 4, start)) : frame.subarray(start, end),
    );
  }
  if (!first) return 'it is a control frame';
  return { ...first, payload: payloads.length === 1 ? payloads[0]! : Buffer.concat(payloads), controls };
}

/**
 * `message` sent again carrying `payload`: one final text frame, after the control frames that
 * came between its fragments (a ping goes a fragment earlier than it did, which changes nothing).
 */
function rebuiltMessage(message: WebSocketMessage, payload: Buffer): Buffer {
  const frame = webSocketTextFrame(payload, message.masked);
  return message.controls.length === 0 ? frame : Buffer.concat([...message.controls, frame]);
}

/** A final text frame carrying `payload`: masked with a fresh key when a client sends it. */
function webSocketTextFrame(payload: Buffer, masked: boolean): Buffer {
  return webSocketFrame(0x1, payload, masked);
}

function isMaskedFrame(frame: Buffer): boolean {
  return frame.length >= 2 && (frame[1]! & 0x80) !== 0;
}

/** `json` with the field at `path` (dots; numbers index arrays) set to `value`; undefined if not JSON. */
function setJson(json: string, path: string, value: unknown): string | undefined {
  let root: unknown;
  try {
    root = JSON.parse(json);
  } catch {
    return undefined;
  }
  const keys = path.split('.');
  if (typeof root !== 'object' || root === null) return undefined;
  let node = root as Record<string, unknown>;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys[keys.length - 1]!] = value;
  return JSON.stringify(root);
}
