import type { StreamEventRow } from './stream-events.js';
import { isObject, str, type Json } from '../llm/json-fields.js';

/**
 * Assembles the answer an LLM streaming API is writing from its events: the text deltas joined
 * in order, with reasoning and tool-call input kept apart. Knows the common wire formats:
 *
 * - `openai`: Chat Completions and the many servers that copy it (`choices[].delta.content`,
 *   `delta.reasoning_content` / `delta.reasoning`, `delta.tool_calls[].function.arguments`, `[DONE]`).
 * - `openai-responses`: the Responses API (`response.output_text.delta` and friends).
 * - `anthropic`: Messages (`content_block_delta` with `text_delta`, `thinking_delta`, `input_json_delta`).
 * - `gemini`: `streamGenerateContent?alt=sse` (`candidates[].content.parts[].text`, `thought` parts).
 * - `ollama`: its NDJSON `/api/chat` (`message.content`) and `/api/generate` (`response`).
 * - `bedrock-converse`: Bedrock's `ConverseStream` (AWS event stream; `contentBlockDelta` with
 *   `delta.text`, `delta.reasoningContent.text`, `delta.toolUse.input`, then `messageStop`, `metadata`).
 *   Bedrock's `InvokeModelWithResponseStream` carries the model's own events, read as that model's.
 */
export type LlmProvider = 'openai' | 'openai-responses' | 'anthropic' | 'gemini' | 'ollama' | 'bedrock-converse';

export interface LlmText {
  /** Undefined until the stream's first events matched a known format (or when none did). */
  readonly provider: LlmProvider | undefined;
  readonly text: string;
  /** Reasoning / thinking text, when the model streamed any. */
  readonly thinking?: string;
  /** Tool-call arguments as streamed (usually partial JSON); one line per call. */
  readonly toolInput?: string;
  /** The tool calls, one each, with the name and id the API gave and the arguments so far. */
  readonly toolCalls?: readonly ToolCall[];
  /** Events that contributed text, thinking or tool input. */
  readonly eventsUsed: number;
  /** Errors the API reported inside the stream (e.g. Anthropic's `overloaded_error`). */
  readonly errors?: readonly string[];
  /** The stream said it was finished (`[DONE]`, `message_stop`, `response.completed`, `done: true`, ...). */
  readonly done: boolean;
  /**
   * The events that wrote text, thinking or tool input, in order: their row and arrival time. Grows
   * in place with the stream (shared between results), so read it, never keep a copy per update.
   */
  readonly written: readonly WrittenEvent[];
  /** The model the API says answered. */
  readonly model?: string;
  /** Why the model stopped, as the API says it (`stop`, `end_turn`, `tool_use`, `STOP`, `length`, ...). */
  readonly finishReason?: string;
  /** Token counts as the API reported them, when it did. */
  readonly usage?: LlmUsage;
  /**
   * What each event added, by its position in the rows (undefined: nothing, e.g. a ping or
   * `message_start`). Grows in place with the stream like `written`.
   */
  readonly contributions: readonly (EventContribution | undefined)[];
}

/** One part of what an event added to the answer. */
export interface ContributionPart {
  /**
   * `text` and `thinking` deltas; `tool`: a tool call named (`name (id)`); `args`: a piece of a
   * call's arguments; `usage`: token counts reported; `stop`: the finish reason; `done`: the end
   * of the stream; `error`: an error the API reported.
   */
  readonly kind: 'text' | 'thinking' | 'tool' | 'args' | 'usage' | 'stop' | 'done' | 'error';
  readonly text: string;
}

export type EventContribution = readonly ContributionPart[];

export interface ToolCall {
  readonly name?: string;
  readonly id?: string;
  /** As streamed: partial JSON until the call is complete. */
  readonly arguments: string;
}

export interface WrittenEvent {
  readonly index: number;
  readonly t: number;
}

/** Token counts as an API reports them (each field only when it said). */
export interface LlmUsage {
  readonly input?: number;
  readonly output?: number;
  /** Input tokens served from the provider's prompt cache. */
  readonly cached?: number;
  /** Output tokens spent on reasoning (thinking), when counted apart. */
  readonly reasoning?: number;
}

/** Give up detecting after this many JSON events matched no format, so unrelated streams cost nothing. */
const DETECT_LIMIT = 20;
/** A broken stream can repeat an error per event; a few are enough to show. */
const MAX_ERRORS = 20;

/** ConverseStream's event names (the AWS event stream's `:event-type`). */
const CONVERSE_TYPES = new Set([
  'messageStart',
  'contentBlockStart',
  'contentBlockDelta',
  'contentBlockStop',
  'messageStop',
  'metadata',
]);

const ANTHROPIC_TYPES = new Set([
  'message_start',
  'content_block_start',
  'content_block_delta',
  'content_block_stop',
  'message_delta',
  'message_stop',
]);

/**
 * Incremental: `sync(rows)` with the same growing array does work only for rows it has not seen,
 * so a live stream costs O(new events) per update. Each event's JSON is parsed once.
 */
export class LlmTextAssembler {
  private seen = 0;
  /** The last row consumed, to notice when `sync` is handed a different stream. */
  private lastRow: StreamEventRow | undefined;
  private provider: LlmProvider | undefined;
  private unmatched = 0;
  private text = '';
  private thinking = '';
  private toolInput = '';
  /** Which tool call the tool input is currently being written for; a new one starts a new line. */
  private toolKey: string | undefined;
  /** Each tool call by the key its deltas name it with, in the order they began. */
  private readonly toolCalls = new Map<string, { name?: string; id?: string; arguments: string }>();
  private eventsUsed = 0;
  private errors: string[] = [];
  private done = false;
  private readonly written: WrittenEvent[] = [];
  private readonly contributions: (EventContribution | undefined)[] = [];
  /** Tool calls this row named (or said more of), for its contribution. */
  private rowTools: string[] = [];
  private model: string | undefined;
  private finishReason: string | undefined;
  private usage: LlmUsage | undefined;
  private cached: LlmText | undefined;

  /** Rows consumed so far. */
  get count(): number {
    return this.seen;
  }

  /**
   * Brings the result up to date with `rows`, a stream's events so far (append-only). If `rows`
   * is not a continuation of what was seen (shorter, or a different event where the last one
   * was), starts over.
   */
  sync(rows: readonly StreamEventRow[]): LlmText {
    if (rows.length < this.seen || (this.seen > 0 && !sameRow(rows[this.seen - 1], this.lastRow))) this.reset();
    return this.add(rows, this.seen);
  }

  /** Consumes `rows` from index `from` on (every row, when `from` is left out). */
  add(rows: readonly StreamEventRow[], from = 0): LlmText {
    for (let i = from; i < rows.length; i++) this.addRow(rows[i]!);
    return this.result;
  }

  /** The assembled text so far; the same object until something changes, so it can key memos. */
  get result(): LlmText {
    this.cached ??= {
      provider: this.provider,
      text: this.text,
      eventsUsed: this.eventsUsed,
      done: this.done,
      written: this.written,
      contributions: this.contributions,
      ...(this.model !== undefined && { model: this.model }),
      ...(this.finishReason !== undefined && { finishReason: this.finishReason }),
      ...(this.usage !== undefined && { usage: this.usage }),
      ...(this.thinking && { thinking: this.thinking }),
      ...(this.toolInput && { toolInput: this.toolInput }),
      ...(this.toolCalls.size > 0 && { toolCalls: [...this.toolCalls.values()].map((call) => ({ ...call })) }),
      ...(this.errors.length > 0 && { errors: [...this.errors] }),
    };
    return this.cached;
  }

  reset(): void {
    // A fresh instance's fields are exactly the initial state; copying them keeps one definition.
    Object.assign(this, new LlmTextAssembler());
  }

  private addRow(row: StreamEventRow): void {
    const before = {
      text: this.text.length,
      thinking: this.thinking.length,
      toolInput: this.toolInput.length,
      usage: this.usage,
      finish: this.finishReason,
      done: this.done,
      errors: this.errors.length,
    };
    this.rowTools = [];
    this.readRow(row);
    this.contributions.push(this.contributionSince(before));
  }

  /** What the last row added, from the state before it. */
  private contributionSince(before: {
    text: number;
    thinking: number;
    toolInput: number;
    usage: LlmUsage | undefined;
    finish: string | undefined;
    done: boolean;
    errors: number;
  }): EventContribution | undefined {
    const parts: ContributionPart[] = [];
    const add = (kind: ContributionPart['kind'], text: string): void => {
      if (text !== '') parts.push({ kind, text });
    };
    add('thinking', this.thinking.slice(before.thinking));
    add('text', this.text.slice(before.text));
    for (const tool of this.rowTools) add('tool', tool);
    add('args', this.toolInput.slice(before.toolInput).replace(/^\n/, ''));
    // Some APIs repeat the counts on every event (Gemini): only a change is news.
    if (this.usage && (!before.usage || usageWords(before.usage) !== usageWords(this.usage))) {
      add('usage', usageWords(this.usage));
    }
    if (this.finishReason !== before.finish && this.finishReason !== undefined) add('stop', this.finishReason);
    for (const error of this.errors.slice(before.errors)) add('error', error);
    if (this.done && !before.done) add('done', 'done');
    return parts.length > 0 ? parts : undefined;
  }

  private readRow(row: StreamEventRow): void {
    this.seen++;
    this.lastRow = row;
    this.cached = undefined;
    const data = row.data.trim();
    if (data === '[DONE]') {
      this.done = true;
      return;
    }
    // Only objects are events of these APIs; checking the first character keeps non-JSON
    // streams (and keep-alive comments) from paying for a failed parse.
    if (data[0] !== '{' || (this.provider === undefined && this.unmatched >= DETECT_LIMIT)) return;
    let json: unknown;
    try {
      json = JSON.parse(data);
    } catch {
      return;
    }
    if (!isObject(json)) return;
    this.collectError(json);
    this.provider ??= detectProvider(json, row.event);
    if (this.provider === undefined) {
      this.unmatched++;
      return;
    }
    const before = this.text.length + this.thinking.length + this.toolInput.length;
    HANDLERS[this.provider](this, json, row.event);
    if (this.text.length + this.thinking.length + this.toolInput.length > before) {
      this.eventsUsed++;
      this.written.push({ index: row.index, t: row.t });
    }
  }

  /** The error shapes these APIs share: `{error: "…"}`, `{error: {message}}`, `{type: "error", message}`. */
  private collectError(json: Json): void {
    const error = json.error;
    const message =
      str(error) ??
      (isObject(error) ? (str(error.message) ?? str(error.type)) : undefined) ??
      (json.type === 'error' ? str(json.message) : undefined);
    if (message !== undefined) this.addError(message);
  }

  /** @internal for the format handlers below. */
  addError(message: string): void {
    if (this.errors.length < MAX_ERRORS) this.errors.push(message);
  }

  /** @internal */
  appendText(piece: unknown): void {
    if (typeof piece === 'string') this.text += piece;
  }

  /** @internal */
  appendThinking(piece: unknown): void {
    if (typeof piece === 'string') this.thinking += piece;
  }

  /** @internal Tool input for the call named by `key`; a different key starts a new line. */
  appendToolInput(key: string, piece: unknown): void {
    if (typeof piece !== 'string' || piece === '') return;
    if (key !== this.toolKey && this.toolInput !== '') this.toolInput += '\n';
    this.toolKey = key;
    this.toolInput += piece;
    this.callOf(key).arguments += piece;
  }

  /** @internal A tool call begins (or says more of itself): its name and id, as the API gave them. */
  noteToolCall(key: string, name: unknown, id: unknown): void {
    const call = this.callOf(key);
    const was = `${call.name ?? ''}\u0000${call.id ?? ''}`;
    if (typeof name === 'string' && name !== '') call.name = name;
    if (typeof id === 'string' && id !== '') call.id = id;
    if (`${call.name ?? ''}\u0000${call.id ?? ''}` !== was) {
      this.rowTools.push(call.id === undefined ? (call.name ?? '') : `${call.name ?? 'tool'} (${call.id})`);
    }
    this.cached = undefined;
  }

  /**
   * @internal A tool call sent whole, in one event (`call` as the API wrote it): always a line of
   * its own in the tool input, and a call with its name and arguments.
   */
  appendToolCall(call: Json, name: unknown, args: unknown, id?: unknown): void {
    this.toolKey = undefined;
    const key = `call-${this.seen}-${this.toolCalls.size}`;
    this.noteToolCall(key, name, id);
    this.appendToolInput(key, JSON.stringify(call));
    this.callOf(key).arguments = typeof args === 'string' ? args : JSON.stringify(args ?? {});
  }

  private callOf(key: string): { name?: string; id?: string; arguments: string } {
    let call = this.toolCalls.get(key);
    if (!call) this.toolCalls.set(key, (call = { arguments: '' }));
    return call;
  }

  /** @internal */
  markDone(): void {
    this.done = true;
  }

  /** @internal */
  noteModel(model: unknown): void {
    if (typeof model === 'string' && model !== '') this.model = model;
  }

  /** @internal */
  noteFinish(reason: unknown): void {
    if (typeof reason === 'string' && reason !== '') this.finishReason = reason;
  }

  /** @internal Counts the API reported; a later report overrides what it repeats (they are totals so far). */
  noteUsage(usage: { [K in keyof LlmUsage]: unknown }): void {
    const next: Record<string, number> = { ...this.usage };
    for (const [key, value] of Object.entries(usage)) {
      if (typeof value === 'number' && Number.isFinite(value)) next[key] = value;
    }
    if (Object.keys(next).length > 0) this.usage = next;
  }
}

/** Token counts in a few words: `in 12 · out 40 · cached 3 · reasoning 8`. */
export function usageWords(usage: LlmUsage): string {
  return usageCounts(usage)
    .map(([kind, count]) => `${kind} ${count}`)
    .join(' · ');
}

/** The counts reported, each with its name as people read it, in one order wherever they show. */
export function usageCounts(usage: LlmUsage): [name: string, count: number][] {
  const counts: [string, number | undefined][] = [
    ['in', usage.input],
    ['out', usage.output],
    ['cached', usage.cached],
    ['reasoning', usage.reasoning],
  ];
  return counts.filter((entry): entry is [string, number] => entry[1] !== undefined);
}

/** `object.a.b...` when every step is an object, else undefined. */
function at(object: unknown, ...path: string[]): unknown {
  let node = object;
  for (const key of path) {
    if (!isObject(node)) return undefined;
    node = node[key];
  }
  return node;
}

function sameRow(a: StreamEventRow | undefined, b: StreamEventRow | undefined): boolean {
  return a === b || (a !== undefined && b !== undefined && a.index === b.index && a.t === b.t && a.data === b.data);
}

/** Which API a stream speaks, from one of its first events. */
export function detectProvider(json: Json, event: string | undefined): LlmProvider | undefined {
  const type = str(json.type) ?? event;
  if (type?.startsWith('response.')) return 'openai-responses';
  if (type !== undefined && ANTHROPIC_TYPES.has(type)) return 'anthropic';
  if (event !== undefined && CONVERSE_TYPES.has(event)) return 'bedrock-converse';
  if (json.object === 'chat.completion.chunk' || json.object === 'text_completion' || Array.isArray(json.choices)) {
    return 'openai';
  }
  if (Array.isArray(json.candidates)) return 'gemini';
  if (typeof json.done === 'boolean' && (isObject(json.message) || typeof json.response === 'string')) return 'ollama';
  return undefined;
}

type Handler = (into: LlmTextAssembler, json: Json, event: string | undefined) => void;

const HANDLERS: Record<LlmProvider, Handler> = {
  openai(into, json) {
    into.noteModel(json.model);
    if (isObject(json.usage)) {
      into.noteUsage({
        input: json.usage.prompt_tokens,
        output: json.usage.completion_tokens,
        cached: at(json.usage, 'prompt_tokens_details', 'cached_tokens'),
        reasoning: at(json.usage, 'completion_tokens_details', 'reasoning_tokens'),
      });
    }
    if (!Array.isArray(json.choices)) return;
    for (const choice of json.choices) {
      // With `n > 1` choices interleave; joining them would be nonsense, so follow the first.
      if (!isObject(choice) || (choice.index ?? 0) !== 0) continue;
      into.noteFinish(choice.finish_reason);
      const delta = isObject(choice.delta) ? choice.delta : undefined;
      if (delta) {
        into.appendThinking(delta.reasoning_content ?? delta.reasoning);
        into.appendText(delta.content);
        into.appendText(delta.refusal);
        if (Array.isArray(delta.tool_calls)) {
          for (const call of delta.tool_calls) {
            if (isObject(call) && isObject(call.function)) {
              const key = String(call.index ?? call.id ?? 0);
              into.noteToolCall(key, call.function.name, call.id);
              into.appendToolInput(key, call.function.arguments);
            }
          }
        }
      } else {
        // Legacy completions stream `choices[].text`.
        into.appendText(choice.text);
      }
    }
  },

  'openai-responses'(into, json, event) {
    const type = str(json.type) ?? event;
    const response = isObject(json.response) ? json.response : undefined;
    if (response) {
      into.noteModel(response.model);
      if (isObject(response.usage)) {
        into.noteUsage({
          input: response.usage.input_tokens,
          output: response.usage.output_tokens,
          cached: at(response.usage, 'input_tokens_details', 'cached_tokens'),
          reasoning: at(response.usage, 'output_tokens_details', 'reasoning_tokens'),
        });
      }
      if (type === 'response.completed') into.noteFinish(response.status);
      if (type === 'response.incomplete') into.noteFinish(at(response, 'incomplete_details', 'reason') ?? 'incomplete');
    }
    switch (type) {
      case 'response.output_text.delta':
      case 'response.refusal.delta':
        into.appendText(json.delta);
        break;
      case 'response.reasoning_summary_text.delta':
      case 'response.reasoning_text.delta':
        into.appendThinking(json.delta);
        break;
      case 'response.output_item.added': {
        const item = json.item;
        if (isObject(item) && item.type === 'function_call') {
          into.noteToolCall(String(item.id ?? json.output_index ?? ''), item.name, item.call_id ?? item.id);
        }
        break;
      }
      case 'response.function_call_arguments.delta':
        into.appendToolInput(String(json.item_id ?? json.output_index ?? ''), json.delta);
        break;
      case 'response.failed': {
        const response = isObject(json.response) ? json.response : {};
        const error = isObject(response.error) ? str(response.error.message) : undefined;
        into.addError(error ?? 'response.failed');
        into.markDone();
        break;
      }
      case 'response.completed':
      case 'response.incomplete':
        into.markDone();
        break;
    }
  },

  anthropic(into, json, event) {
    const type = str(json.type) ?? event;
    if (type === 'message_start' && isObject(json.message)) {
      into.noteModel(json.message.model);
      const usage = json.message.usage;
      if (isObject(usage)) {
        into.noteUsage({
          input: usage.input_tokens,
          output: usage.output_tokens,
          cached: usage.cache_read_input_tokens,
        });
      }
    } else if (type === 'message_delta') {
      into.noteFinish(at(json, 'delta', 'stop_reason'));
      if (isObject(json.usage)) into.noteUsage({ output: json.usage.output_tokens });
    }
    if (type === 'content_block_delta' && isObject(json.delta)) {
      const delta = json.delta;
      if (delta.type === 'text_delta') into.appendText(delta.text);
      else if (delta.type === 'thinking_delta') into.appendThinking(delta.thinking);
      else if (delta.type === 'input_json_delta') into.appendToolInput(String(json.index), delta.partial_json);
    } else if (type === 'content_block_start' && isObject(json.content_block)) {
      // Blocks usually start empty, but a start may carry text already.
      const block = json.content_block;
      if (block.type === 'text') into.appendText(block.text);
      else if (block.type === 'thinking') into.appendThinking(block.thinking);
      else if (block.type === 'tool_use') into.noteToolCall(String(json.index), block.name, block.id);
    } else if (type === 'message_stop') {
      into.markDone();
    }
  },

  gemini(into, json) {
    into.noteModel(json.modelVersion);
    const meta = json.usageMetadata;
    if (isObject(meta)) {
      into.noteUsage({
        input: meta.promptTokenCount,
        output: meta.candidatesTokenCount,
        cached: meta.cachedContentTokenCount,
        reasoning: meta.thoughtsTokenCount,
      });
    }
    const candidate: unknown = Array.isArray(json.candidates) ? json.candidates[0] : undefined;
    if (!isObject(candidate)) return;
    const content = isObject(candidate.content) ? candidate.content : undefined;
    if (content && Array.isArray(content.parts)) {
      for (const part of content.parts) {
        if (!isObject(part)) continue;
        if (part.thought === true) into.appendThinking(part.text);
        else into.appendText(part.text);
        // Gemini sends each function call whole, in one part.
        if (isObject(part.functionCall)) {
          into.appendToolCall(part.functionCall, part.functionCall.name, part.functionCall.args, part.functionCall.id);
        }
      }
    }
    if (typeof candidate.finishReason === 'string') {
      into.noteFinish(candidate.finishReason);
      into.markDone();
    }
  },

  'bedrock-converse'(into, json, event) {
    if (event === 'contentBlockStart') {
      const tool = at(json, 'start', 'toolUse');
      if (isObject(tool)) into.noteToolCall(String(json.contentBlockIndex ?? 0), tool.name, tool.toolUseId);
    } else if (event === 'contentBlockDelta' && isObject(json.delta)) {
      const delta = json.delta;
      into.appendText(delta.text);
      into.appendThinking(at(delta, 'reasoningContent', 'text'));
      into.appendToolInput(String(json.contentBlockIndex ?? 0), at(delta, 'toolUse', 'input'));
    } else if (event === 'messageStop') {
      into.noteFinish(json.stopReason);
      into.markDone();
    } else if (event === 'metadata' && isObject(json.usage)) {
      into.noteUsage({
        input: json.usage.inputTokens,
        output: json.usage.outputTokens,
        cached: json.usage.cacheReadInputTokens,
      });
    }
  },

  ollama(into, json) {
    into.noteModel(json.model);
    into.noteFinish(json.done_reason);
    if (json.done === true) into.noteUsage({ input: json.prompt_eval_count, output: json.eval_count });
    const message = isObject(json.message) ? json.message : undefined;
    if (message) {
      into.appendThinking(message.thinking);
      into.appendText(message.content);
      if (Array.isArray(message.tool_calls)) {
        for (const call of message.tool_calls) {
          if (isObject(call) && isObject(call.function)) {
            into.appendToolCall(call.function, call.function.name, call.function.arguments);
          }
        }
      }
    } else {
      into.appendThinking(json.thinking);
      into.appendText(json.response);
    }
    if (json.done === true) into.markDone();
  },
};

/** One-shot assembly of a whole stream. */
export function assembleLlmText(rows: readonly StreamEventRow[]): LlmText {
  return new LlmTextAssembler().add(rows);
}
