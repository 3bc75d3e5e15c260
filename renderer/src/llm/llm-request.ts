/**
 * What an LLM API call asked, read from its request body: the model and parameters, the system
 * prompt, the conversation (roles; text, images as placeholders, tool calls and their results),
 * and the tools offered with their schemas. Knows OpenAI Chat Completions and Responses,
 * Anthropic Messages, Gemini and Ollama, the formats the joined-text view reads answers of. Pure.
 */

import { isObject, list, str, type Json } from './json-fields.js';

export type LlmRequestFormat = 'openai' | 'openai-responses' | 'anthropic' | 'gemini' | 'ollama';

export const LLM_FORMAT_NAMES: Record<LlmRequestFormat, string> = {
  openai: 'OpenAI Chat Completions',
  'openai-responses': 'OpenAI Responses',
  anthropic: 'Anthropic Messages',
  gemini: 'Gemini',
  ollama: 'Ollama',
};

export interface LlmRequest {
  readonly format: LlmRequestFormat;
  readonly model: string | undefined;
  /** Sampling and output settings as sent (`temperature`, `max_tokens`, `stream`, ...), in order. */
  readonly params: readonly (readonly [name: string, value: string])[];
  /** The system prompt (instructions), when there is one. */
  readonly system: string | undefined;
  readonly messages: readonly LlmMessage[];
  readonly tools: readonly LlmTool[];
}

export interface LlmMessage {
  /** As the API names it: `user`, `assistant`, `tool`, `model`, `developer`, ... */
  readonly role: string;
  readonly parts: readonly LlmPart[];
}

export type LlmPart =
  | { readonly kind: 'text'; readonly text: string }
  /** An image or other media: what it is and how big, never its bytes. */
  | { readonly kind: 'media'; readonly label: string }
  | { readonly kind: 'tool-call'; readonly name: string; readonly id?: string; readonly arguments: string }
  | { readonly kind: 'tool-result'; readonly id?: string; readonly name?: string; readonly content: string };

export interface LlmTool {
  readonly name: string;
  readonly description?: string;
  /** The parameters' JSON Schema, as sent. */
  readonly schema?: unknown;
}

/** The request read as an LLM call, or undefined when it is none of the formats (or not JSON). */
export function parseLlmRequest(url: string, body: string): LlmRequest | undefined {
  const trimmed = body.trim();
  if (trimmed[0] !== '{') return undefined;
  let json: unknown;
  try {
    json = JSON.parse(trimmed);
  } catch {
    return undefined;
  }
  if (!isObject(json)) return undefined;
  const format = formatOf(pathOf(url), json);
  return format === undefined ? undefined : READERS[format](json);
}

function pathOf(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return url;
  }
}

/** The format, from the path where it names one, else from the body's shape. */
export function formatOf(path: string, json: Json): LlmRequestFormat | undefined {
  if (/\/messages$/.test(path) && Array.isArray(json.messages)) return 'anthropic';
  if (/\/chat\/completions$/.test(path)) return 'openai';
  if (/\/responses$/.test(path) && json.input !== undefined) return 'openai-responses';
  if (/:(stream)?[gG]enerateContent$/.test(path) || Array.isArray(json.contents)) return 'gemini';
  if (/\/api\/(chat|generate)$/.test(path)) return 'ollama';
  if (!Array.isArray(json.messages))
    return json.input !== undefined && typeof json.model === 'string' ? 'openai-responses' : undefined;
  // Anthropic's top-level `system` and required `max_tokens`, or its content blocks, tell it apart.
  const blocks = json.messages.some(
    (m) =>
      isObject(m) &&
      Array.isArray(m.content) &&
      m.content.some((b) => isObject(b) && (b.type === 'tool_use' || b.type === 'tool_result')),
  );
  if (json.system !== undefined || blocks) return 'anthropic';
  return 'openai';
}

/** Top-level fields that are settings, not the conversation. */
const NOT_PARAMS = new Set([
  'model',
  'messages',
  'input',
  'instructions',
  'system',
  'tools',
  'contents',
  'systemInstruction',
  'system_instruction',
  'prompt',
  'generationConfig',
  'generation_config',
  'options',
]);

function paramsOf(json: Json, ...nested: unknown[]): [string, string][] {
  const out: [string, string][] = [];
  for (const [name, value] of Object.entries(json)) {
    if (!NOT_PARAMS.has(name)) out.push([name, valueText(value)]);
  }
  for (const group of nested) {
    if (isObject(group)) for (const [name, value] of Object.entries(group)) out.push([name, valueText(value)]);
  }
  return out;
}

function valueText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** Text of `content` in any of the shapes these APIs use: a string, or blocks with `text`. */
function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  return list(content)
    .map((block) => (isObject(block) ? (str(block.text) ?? '') : typeof block === 'string' ? block : ''))
    .filter((text) => text !== '')
    .join('\n');
}

/** A base64 payload's decoded size, in words. */
function base64Size(data: string): string {
  const bytes = Math.floor((data.replace(/=+$/, '').length * 3) / 4);
  return bytes < 1024
    ? `${bytes} B`
    : bytes < 1024 * 1024
      ? `${(bytes / 1024).toFixed(1)} KiB`
      : `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** `image/png, 34.2 KiB` for inline data; the URL (a data: URL by its type and size) otherwise. */
function mediaLabel(type: string | undefined, data: string | undefined, url: string | undefined): string {
  if (data !== undefined) return `${type ?? 'media'}, ${base64Size(data)}`;
  if (url !== undefined) {
    const inline = /^data:([^;,]+)?(?:;[^,]*)?,(.*)$/s.exec(url);
    if (inline) return `${inline[1] ?? type ?? 'media'}, ${base64Size(inline[2] ?? '')}`;
    return url.length > 120 ? `${url.slice(0, 120)}…` : url;
  }
  return type ?? 'media';
}

function toolOf(name: unknown, description: unknown, schema: unknown): LlmTool | undefined {
  if (typeof name !== 'string') return undefined;
  return {
    name,
    ...(typeof description === 'string' && { description }),
    ...(schema !== undefined && { schema }),
  };
}

/** Tools as OpenAI's Chat Completions and Ollama offer them: `{ type: 'function', function: {...} }`. */
function functionTools(tools: unknown): LlmTool[] {
  return defined(
    list(tools).map((t) =>
      isObject(t) && isObject(t.function)
        ? toolOf(t.function.name, t.function.description, t.function.parameters)
        : undefined,
    ),
  );
}

/** System prompts given in several places, one after another. */
function joined(texts: readonly string[]): string | undefined {
  return texts.length > 0 ? texts.join('\n\n') : undefined;
}

function defined<T>(items: (T | undefined)[]): T[] {
  return items.filter((item): item is T => item !== undefined);
}

const READERS: Record<LlmRequestFormat, (json: Json) => LlmRequest> = {
  openai(json) {
    let system: string[] = [];
    const messages: LlmMessage[] = [];
    for (const m of list(json.messages)) {
      if (!isObject(m)) continue;
      const role = str(m.role) ?? 'user';
      if (role === 'system' || role === 'developer') {
        system = [...system, textOf(m.content)];
        continue;
      }
      const parts: LlmPart[] = [];
      if (role === 'tool') {
        parts.push({
          kind: 'tool-result',
          ...(str(m.tool_call_id) && { id: str(m.tool_call_id) }),
          content: textOf(m.content),
        });
      } else {
        for (const block of typeof m.content === 'string' ? [{ type: 'text', text: m.content }] : list(m.content)) {
          if (!isObject(block)) continue;
          if (block.type === 'text') parts.push({ kind: 'text', text: str(block.text) ?? '' });
          else if (block.type === 'image_url')
            parts.push({
              kind: 'media',
              label: mediaLabel(
                'image',
                undefined,
                str(isObject(block.image_url) ? block.image_url.url : block.image_url),
              ),
            });
          else if (block.type === 'input_audio' && isObject(block.input_audio))
            parts.push({
              kind: 'media',
              label: mediaLabel(
                `audio/${str(block.input_audio.format) ?? '?'}`,
                str(block.input_audio.data),
                undefined,
              ),
            });
        }
        for (const call of list(m.tool_calls)) {
          if (isObject(call) && isObject(call.function)) {
            parts.push({
              kind: 'tool-call',
              name: str(call.function.name) ?? '?',
              ...(str(call.id) && { id: str(call.id) }),
              arguments: valueText(call.function.arguments ?? ''),
            });
          }
        }
      }
      messages.push({ role, parts });
    }
    const tools = functionTools(json.tools);
    return {
      format: 'openai',
      model: str(json.model),
      params: paramsOf(json),
      system: joined(system),
      messages,
      tools,
    };
  },

  'openai-responses'(json) {
    const messages: LlmMessage[] = [];
    const system: string[] = [];
    const items = typeof json.input === 'string' ? [{ role: 'user', content: json.input }] : list(json.input);
    for (const item of items) {
      if (!isObject(item)) continue;
      if (item.type === 'function_call') {
        messages.push({
          role: 'assistant',
          parts: [
            {
              kind: 'tool-call',
              name: str(item.name) ?? '?',
              ...(str(item.call_id) && { id: str(item.call_id) }),
              arguments: valueText(item.arguments ?? ''),
            },
          ],
        });
        continue;
      }
      if (item.type === 'function_call_output') {
        messages.push({
          role: 'tool',
          parts: [
            {
              kind: 'tool-result',
              ...(str(item.call_id) && { id: str(item.call_id) }),
              content: valueText(item.output ?? ''),
            },
          ],
        });
        continue;
      }
      const role = str(item.role) ?? 'user';
      if (role === 'system' || role === 'developer') {
        system.push(textOf(item.content));
        continue;
      }
      const parts: LlmPart[] = [];
      for (const block of typeof item.content === 'string'
        ? [{ type: 'input_text', text: item.content }]
        : list(item.content)) {
        if (!isObject(block)) continue;
        if (block.type === 'input_text' || block.type === 'output_text')
          parts.push({ kind: 'text', text: str(block.text) ?? '' });
        else if (block.type === 'input_image')
          parts.push({
            kind: 'media',
            label: mediaLabel('image', undefined, str(block.image_url) ?? str(block.file_id)),
          });
        else if (block.type === 'input_file') parts.push({ kind: 'media', label: str(block.filename) ?? 'file' });
      }
      messages.push({ role, parts });
    }
    const instructions = str(json.instructions);
    const tools = defined(
      list(json.tools).map((t) =>
        isObject(t) && t.type === 'function'
          ? toolOf(t.name, t.description, t.parameters)
          : isObject(t)
            ? toolOf(t.type, undefined, undefined)
            : undefined,
      ),
    );
    return {
      format: 'openai-responses',
      model: str(json.model),
      params: paramsOf(json),
      system: [instructions, ...system].filter((s): s is string => s !== undefined).join('\n\n') || undefined,
      messages,
      tools,
    };
  },

  anthropic(json) {
    const messages: LlmMessage[] = [];
    for (const m of list(json.messages)) {
      if (!isObject(m)) continue;
      const parts: LlmPart[] = [];
      for (const block of typeof m.content === 'string' ? [{ type: 'text', text: m.content }] : list(m.content)) {
        if (!isObject(block)) continue;
        if (block.type === 'text') parts.push({ kind: 'text', text: str(block.text) ?? '' });
        else if (block.type === 'image' || block.type === 'document') {
          const source = isObject(block.source) ? block.source : {};
          parts.push({
            kind: 'media',
            label: mediaLabel(str(source.media_type) ?? String(block.type), str(source.data), str(source.url)),
          });
        } else if (block.type === 'tool_use')
          parts.push({
            kind: 'tool-call',
            name: str(block.name) ?? '?',
            ...(str(block.id) && { id: str(block.id) }),
            arguments: JSON.stringify(block.input ?? {}),
          });
        else if (block.type === 'tool_result')
          parts.push({
            kind: 'tool-result',
            ...(str(block.tool_use_id) && { id: str(block.tool_use_id) }),
            content: textOf(block.content),
          });
        else if (block.type === 'thinking')
          parts.push({ kind: 'text', text: `(thinking) ${str(block.thinking) ?? ''}` });
      }
      messages.push({ role: str(m.role) ?? 'user', parts });
    }
    const tools = defined(
      list(json.tools).map((t) => (isObject(t) ? toolOf(t.name, t.description, t.input_schema) : undefined)),
    );
    return {
      format: 'anthropic',
      model: str(json.model),
      params: paramsOf(json),
      system: json.system === undefined ? undefined : textOf(json.system),
      messages,
      tools,
    };
  },

  gemini(json) {
    const messages: LlmMessage[] = [];
    for (const c of list(json.contents)) {
      if (!isObject(c)) continue;
      const parts: LlmPart[] = [];
      for (const part of list(c.parts)) {
        if (!isObject(part)) continue;
        if (typeof part.text === 'string') parts.push({ kind: 'text', text: part.text });
        const inline = isObject(part.inlineData)
          ? part.inlineData
          : isObject(part.inline_data)
            ? part.inline_data
            : undefined;
        if (inline)
          parts.push({
            kind: 'media',
            label: mediaLabel(str(inline.mimeType) ?? str(inline.mime_type), str(inline.data), undefined),
          });
        const file = isObject(part.fileData) ? part.fileData : undefined;
        if (file) parts.push({ kind: 'media', label: mediaLabel(str(file.mimeType), undefined, str(file.fileUri)) });
        const call = isObject(part.functionCall) ? part.functionCall : undefined;
        if (call)
          parts.push({
            kind: 'tool-call',
            name: str(call.name) ?? '?',
            ...(str(call.id) && { id: str(call.id) }),
            arguments: JSON.stringify(call.args ?? {}),
          });
        const result = isObject(part.functionResponse) ? part.functionResponse : undefined;
        if (result)
          parts.push({
            kind: 'tool-result',
            ...(str(result.name) && { name: str(result.name) }),
            ...(str(result.id) && { id: str(result.id) }),
            content: JSON.stringify(result.response ?? {}),
          });
      }
      messages.push({ role: str(c.role) ?? 'user', parts });
    }
    const instruction = json.systemInstruction ?? json.system_instruction;
    const tools = list(json.tools).flatMap((t) =>
      isObject(t)
        ? defined(
            list(t.functionDeclarations ?? t.function_declarations).map((f) =>
              isObject(f) ? toolOf(f.name, f.description, f.parameters ?? f.parametersJsonSchema) : undefined,
            ),
          )
        : [],
    );
    return {
      format: 'gemini',
      model: str(json.model),
      params: paramsOf(json, json.generationConfig ?? json.generation_config),
      system: isObject(instruction) ? textOf(instruction.parts) || undefined : undefined,
      messages,
      tools,
    };
  },

  ollama(json) {
    const messages: LlmMessage[] = [];
    const system: string[] = typeof json.system === 'string' ? [json.system] : [];
    for (const m of list(json.messages)) {
      if (!isObject(m)) continue;
      const role = str(m.role) ?? 'user';
      if (role === 'system') {
        system.push(textOf(m.content));
        continue;
      }
      const parts: LlmPart[] = [];
      if (role === 'tool')
        parts.push({
          kind: 'tool-result',
          ...(str(m.tool_name) && { name: str(m.tool_name) }),
          content: textOf(m.content),
        });
      else if (typeof m.content === 'string' && m.content !== '') parts.push({ kind: 'text', text: m.content });
      for (const image of list(m.images))
        if (typeof image === 'string') parts.push({ kind: 'media', label: mediaLabel('image', image, undefined) });
      for (const call of list(m.tool_calls)) {
        if (isObject(call) && isObject(call.function))
          parts.push({
            kind: 'tool-call',
            name: str(call.function.name) ?? '?',
            arguments: JSON.stringify(call.function.arguments ?? {}),
          });
      }
      messages.push({ role, parts });
    }
    if (typeof json.prompt === 'string') messages.push({ role: 'user', parts: [{ kind: 'text', text: json.prompt }] });
    const tools = functionTools(json.tools);
    return {
      format: 'ollama',
      model: str(json.model),
      params: paramsOf(json, json.options),
      system: joined(system),
      messages,
      tools,
    };
  },
};
