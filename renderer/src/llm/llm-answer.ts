/**
 * The answer of an LLM call made without streaming, read from its JSON response body in the
 * request's format: the text, the thinking, the tool calls, the model and why it stopped. A
 * streamed answer is assembled from its events instead (`sse/llm-text.ts`). Pure.
 */
import type { LlmUsage, ToolCall } from '../sse/llm-text.js';
import type { LlmRequestFormat } from './llm-request.js';
import { isObject, list, str, type Json } from './json-fields.js';

export interface LlmAnswer {
  readonly text: string;
  readonly thinking: string;
  readonly toolCalls: readonly ToolCall[];
  readonly model?: string;
  readonly finishReason?: string;
  readonly usage?: LlmUsage;
}

function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** Only the counts given, so an answer without usage has none. */
function usageOf(input: unknown, output: unknown): LlmUsage | undefined {
  const usage = {
    ...(num(input) !== undefined && { input: num(input) }),
    ...(num(output) !== undefined && { output: num(output) }),
  };
  return Object.keys(usage).length > 0 ? usage : undefined;
}

function call(name: unknown, id: unknown, args: unknown): ToolCall {
  return {
    ...(str(name) !== undefined && { name: str(name) }),
    ...(str(id) !== undefined && { id: str(id) }),
    arguments: typeof args === 'string' ? args : JSON.stringify(args ?? {}),
  };
}

function answer(parts: {
  text: string[];
  thinking: string[];
  toolCalls: ToolCall[];
  model: unknown;
  finishReason: unknown;
  usage: LlmUsage | undefined;
}): LlmAnswer {
  return {
    text: parts.text.join(''),
    thinking: parts.thinking.join(''),
    toolCalls: parts.toolCalls,
    ...(str(parts.model) !== undefined && { model: str(parts.model) }),
    ...(str(parts.finishReason) !== undefined && { finishReason: str(parts.finishReason) }),
    ...(parts.usage && { usage: parts.usage }),
  };
}

/** The answer in `body`, or undefined when it is not one of `format`'s (an error, HTML, a stream). */
export function parseLlmAnswer(format: LlmRequestFormat, body: string): LlmAnswer | undefined {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (!isObject(json)) return undefined;
  return READERS[format](json);
}

const READERS: Record<LlmRequestFormat, (json: Json) => LlmAnswer | undefined> = {
  openai(json) {
    const choice = list(json.choices)[0];
    if (!isObject(choice) || !isObject(choice.message)) return undefined;
    const message = choice.message;
    const usage = isObject(json.usage) ? usageOf(json.usage.prompt_tokens, json.usage.completion_tokens) : undefined;
    return answer({
      text: [str(message.content) ?? str(message.refusal) ?? ''],
      thinking: [str(message.reasoning_content) ?? str(message.reasoning) ?? ''],
      toolCalls: list(message.tool_calls).flatMap((c) =>
        isObject(c) && isObject(c.function) ? [call(c.function.name, c.id, c.function.arguments)] : [],
      ),
      model: json.model,
      finishReason: choice.finish_reason,
      usage,
    });
  },

  'openai-responses'(json) {
    if (!Array.isArray(json.output)) return undefined;
    const text: string[] = [];
    const thinking: string[] = [];
    const toolCalls: ToolCall[] = [];
    for (const item of json.output) {
      if (!isObject(item)) continue;
      if (item.type === 'message')
        for (const c of list(item.content)) if (isObject(c) && c.type === 'output_text') text.push(str(c.text) ?? '');
      if (item.type === 'reasoning')
        for (const s of list(item.summary)) if (isObject(s)) thinking.push(str(s.text) ?? '');
      if (item.type === 'function_call') toolCalls.push(call(item.name, item.call_id ?? item.id, item.arguments));
    }
    const usage = isObject(json.usage) ? usageOf(json.usage.input_tokens, json.usage.output_tokens) : undefined;
    return answer({ text, thinking, toolCalls, model: json.model, finishReason: json.status, usage });
  },

  anthropic(json) {
    if (!Array.isArray(json.content)) return undefined;
    const text: string[] = [];
    const thinking: string[] = [];
    const toolCalls: ToolCall[] = [];
    for (const block of json.content) {
      if (!isObject(block)) continue;
      if (block.type === 'text') text.push(str(block.text) ?? '');
      else if (block.type === 'thinking') thinking.push(str(block.thinking) ?? '');
      else if (block.type === 'tool_use') toolCalls.push(call(block.name, block.id, block.input));
    }
    const usage = isObject(json.usage) ? usageOf(json.usage.input_tokens, json.usage.output_tokens) : undefined;
    return answer({ text, thinking, toolCalls, model: json.model, finishReason: json.stop_reason, usage });
  },

  gemini(json) {
    const candidate = list(json.candidates)[0];
    if (!isObject(candidate)) return undefined;
    const text: string[] = [];
    const thinking: string[] = [];
    const toolCalls: ToolCall[] = [];
    for (const part of list(isObject(candidate.content) ? candidate.content.parts : undefined)) {
      if (!isObject(part)) continue;
      if (part.thought === true) thinking.push(str(part.text) ?? '');
      else if (typeof part.text === 'string') text.push(part.text);
      if (isObject(part.functionCall))
        toolCalls.push(call(part.functionCall.name, part.functionCall.id, part.functionCall.args));
    }
    const meta = isObject(json.usageMetadata) ? json.usageMetadata : undefined;
    return answer({
      text,
      thinking,
      toolCalls,
      model: json.modelVersion,
      finishReason: candidate.finishReason,
      usage: meta ? usageOf(meta.promptTokenCount, meta.candidatesTokenCount) : undefined,
    });
  },

  ollama(json) {
    const message = isObject(json.message) ? json.message : undefined;
    if (!message && typeof json.response !== 'string') return undefined;
    return answer({
      text: [str(message?.content) ?? str(json.response) ?? ''],
      thinking: [str(message?.thinking) ?? str(json.thinking) ?? ''],
      toolCalls: list(message?.tool_calls).flatMap((c) =>
        isObject(c) && isObject(c.function) ? [call(c.function.name, undefined, c.function.arguments)] : [],
      ),
      model: json.model,
      finishReason: json.done_reason,
      usage: usageOf(json.prompt_eval_count, json.eval_count),
    });
  },
};
