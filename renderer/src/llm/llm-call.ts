import type { ExchangeView } from '../model/exchange.js';
import { assembleLlmText, type LlmProvider } from '../sse/llm-text.js';

/** An exchange that is an LLM API call: which API, and the model when it is known yet. */
export interface LlmCall {
  /** `openai`, `anthropic`, `gemini`, `ollama`, `bedrock`. */
  readonly api: string;
  readonly model: string | undefined;
}

/** Paths these APIs are called at; a model named in the path is its first group. */
const PATHS: readonly (readonly [RegExp, string])[] = [
  [/\/chat\/completions$/, 'openai'],
  [/\/v1\/responses$/, 'openai'],
  [/\/v1\/messages$/, 'anthropic'],
  [/\/models\/([^/:]+):(?:stream)?[gG]enerateContent$/, 'gemini'],
  [/\/api\/(?:chat|generate)$/, 'ollama'],
  [/\/model\/([^/]+)\/(?:converse-stream|converse|invoke-with-response-stream|invoke)$/, 'bedrock'],
];

const API_OF: Record<LlmProvider, string> = {
  openai: 'openai',
  'openai-responses': 'openai',
  anthropic: 'anthropic',
  gemini: 'gemini',
  ollama: 'ollama',
  'bedrock-converse': 'bedrock',
};

/** Events read for the model: the first ones name it, when the stream does. */
const MODEL_EVENTS = 3;

const known = new WeakMap<ExchangeView, { readonly seen: number; readonly call: LlmCall | undefined }>();

/**
 * The exchange as an LLM call, from its path (a POST to one of the APIs' endpoints) or its stream's
 * first events (an SSE stream in one of their formats), else undefined. Read once per exchange
 * until its first events have come, so the list and its filter pay almost nothing per row.
 */
export function llmCallOf(x: ExchangeView): LlmCall | undefined {
  const seen = Math.min(x.sse.length, MODEL_EVENTS);
  const cached = known.get(x);
  // `seen` stops at MODEL_EVENTS, so a stream past its first events is read once, then kept.
  if (cached && cached.seen === seen) return cached.call;
  const call = readCall(x, seen);
  known.set(x, { seen, call });
  return call;
}

function readCall(x: ExchangeView, events: number): LlmCall | undefined {
  const { method, url } = x.opened.request;
  let path = '';
  try {
    path = decodeURIComponent(new URL(url).pathname);
  } catch {
    path = url;
  }
  const byPath = method === 'POST' ? PATHS.find(([pattern]) => pattern.test(path)) : undefined;
  const streamed = events > 0 ? assembleLlmText(x.sse.slice(0, events)) : undefined;
  const api = byPath?.[1] ?? (streamed?.provider === undefined ? undefined : API_OF[streamed.provider]);
  if (api === undefined) return undefined;
  const inPath = byPath ? byPath[0].exec(path)?.[1] : undefined;
  return { api, model: streamed?.model ?? inPath };
}
