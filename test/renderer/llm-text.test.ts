import { describe, expect, it } from 'vitest';
import { assembleLlmText, LlmTextAssembler } from '../../renderer/src/sse/llm-text.js';
import type { StreamEventRow } from '../../renderer/src/sse/stream-events.js';

/** Rows as the store holds them: one per SSE event (or NDJSON line), 10 ms apart. */
function rows(events: readonly (string | [event: string, data: string])[]): StreamEventRow[] {
  return events.map((e, index) => {
    const [event, data] = typeof e === 'string' ? [undefined, e] : e;
    return { index, event, eventId: undefined, data, t: 100 + index * 10, chunkRange: [index, index] as const };
  });
}

/** Anthropic names each event twice: in `event:` and in the data's `type`. */
function anthropic(data: { type: string } & Record<string, unknown>): [string, string] {
  return [data.type, JSON.stringify(data)];
}

function openAiChunk(delta: Record<string, unknown>, finish: string | null = null): string {
  return JSON.stringify({
    id: 'chatcmpl-9xQ2hZ',
    object: 'chat.completion.chunk',
    created: 1731000000,
    model: 'gpt-4o-mini-2024-07-18',
    system_fingerprint: 'fp_0ba0d124f1',
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
  });
}

describe('OpenAI chat completions', () => {
  const stream = rows([
    openAiChunk({ role: 'assistant', content: '', refusal: null }),
    openAiChunk({ content: 'Hel' }),
    openAiChunk({ content: 'lo' }),
    openAiChunk({ content: ', world' }),
    openAiChunk({ content: '!' }),
    openAiChunk({}, 'stop'),
    // With stream_options.include_usage the last chunk has no choices.
    JSON.stringify({
      id: 'chatcmpl-9xQ2hZ',
      object: 'chat.completion.chunk',
      choices: [],
      usage: { prompt_tokens: 9, completion_tokens: 4, total_tokens: 13 },
    }),
    '[DONE]',
  ]);

  it('joins delta.content in order and notices [DONE]', () => {
    const result = assembleLlmText(stream);
    expect(result.provider).toBe('openai');
    expect(result.text).toBe('Hello, world!');
    expect(result.eventsUsed).toBe(4);
    expect(result.done).toBe(true);
    expect(result.thinking).toBeUndefined();
    expect(result.errors).toBeUndefined();
  });

  it('keeps reasoning_content (DeepSeek) and reasoning (OpenRouter) apart from the answer', () => {
    const result = assembleLlmText(
      rows([
        openAiChunk({ role: 'assistant', reasoning_content: 'The user greets. ' }),
        openAiChunk({ reasoning: 'Reply briefly.' }),
        openAiChunk({ content: 'Hi!' }),
        '[DONE]',
      ]),
    );
    expect(result.thinking).toBe('The user greets. Reply briefly.');
    expect(result.text).toBe('Hi!');
  });

  it('collects streamed tool-call arguments, one line per call', () => {
    const call = (index: number, fn: Record<string, unknown>, id?: string) =>
      openAiChunk({ tool_calls: [{ index, ...(id && { id, type: 'function' }), function: fn }] });
    const result = assembleLlmText(
      rows([
        call(0, { name: 'get_weather', arguments: '' }, 'call_a'),
        call(0, { arguments: '{"city":' }),
        call(0, { arguments: '"Paris"}' }),
        call(1, { name: 'get_time', arguments: '{"tz":"CET"}' }, 'call_b'),
        openAiChunk({}, 'tool_calls'),
        '[DONE]',
      ]),
    );
    expect(result.toolInput).toBe('{"city":"Paris"}\n{"tz":"CET"}');
    expect(result.text).toBe('');
  });

  it('follows the first choice only when n > 1', () => {
    const chunk = (index: number, content: string) =>
      JSON.stringify({ object: 'chat.completion.chunk', choices: [{ index, delta: { content } }] });
    const result = assembleLlmText(rows([chunk(0, 'A'), chunk(1, 'X'), chunk(0, 'B'), chunk(1, 'Y')]));
    expect(result.text).toBe('AB');
  });

  it('reports an error object sent mid-stream', () => {
    const result = assembleLlmText(
      rows([
        openAiChunk({ content: 'Par' }),
        JSON.stringify({
          error: { message: 'The server had an error processing your request.', type: 'server_error' },
        }),
      ]),
    );
    expect(result.text).toBe('Par');
    expect(result.errors).toEqual(['The server had an error processing your request.']);
  });
});

describe('OpenAI Responses API', () => {
  const event = (type: string, fields: Record<string, unknown>, sequence: number): [string, string] => [
    type,
    JSON.stringify({ type, sequence_number: sequence, ...fields }),
  ];

  it('joins response.output_text.delta and reasoning summaries', () => {
    const result = assembleLlmText(
      rows([
        event('response.created', { response: { id: 'resp_67c', status: 'in_progress' } }, 0),
        event('response.in_progress', { response: { id: 'resp_67c', status: 'in_progress' } }, 1),
        event('response.reasoning_summary_text.delta', { item_id: 'rs_1', delta: 'Short greeting.' }, 2),
        event('response.output_item.added', { output_index: 1, item: { type: 'message', id: 'msg_1' } }, 3),
        event('response.content_part.added', { item_id: 'msg_1', part: { type: 'output_text', text: '' } }, 4),
        event('response.output_text.delta', { item_id: 'msg_1', output_index: 1, content_index: 0, delta: 'Hi' }, 5),
        event(
          'response.output_text.delta',
          { item_id: 'msg_1', output_index: 1, content_index: 0, delta: ' there' },
          6,
        ),
        event('response.output_text.done', { item_id: 'msg_1', text: 'Hi there' }, 7),
        event('response.completed', { response: { id: 'resp_67c', status: 'completed' } }, 8),
      ]),
    );
    expect(result.provider).toBe('openai-responses');
    expect(result.text).toBe('Hi there');
    expect(result.thinking).toBe('Short greeting.');
    expect(result.eventsUsed).toBe(3);
    expect(result.done).toBe(true);
  });

  it('reports response.failed with its error message', () => {
    const result = assembleLlmText(
      rows([
        event('response.created', { response: { id: 'resp_1' } }, 0),
        event('response.failed', { response: { id: 'resp_1', error: { code: 'server_error', message: 'boom' } } }, 1),
      ]),
    );
    expect(result.errors).toEqual(['boom']);
    expect(result.done).toBe(true);
  });
});

describe('Anthropic Messages', () => {
  const stream = rows([
    anthropic({
      type: 'message_start',
      message: {
        id: 'msg_01XFDUDYJgAACzvnptvVoYEL',
        type: 'message',
        role: 'assistant',
        content: [],
        model: 'claude-sonnet-4-5',
        stop_reason: null,
        usage: { input_tokens: 25, output_tokens: 1 },
      },
    }),
    anthropic({ type: 'content_block_start', index: 0, content_block: { type: 'thinking', thinking: '' } }),
    anthropic({ type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: 'A greeting' } }),
    anthropic({ type: 'content_block_delta', index: 0, delta: { type: 'signature_delta', signature: 'EqQBCgIYAh' } }),
    anthropic({ type: 'content_block_stop', index: 0 }),
    anthropic({ type: 'content_block_start', index: 1, content_block: { type: 'text', text: '' } }),
    anthropic({ type: 'ping' }),
    anthropic({ type: 'content_block_delta', index: 1, delta: { type: 'text_delta', text: 'Hello' } }),
    anthropic({ type: 'content_block_delta', index: 1, delta: { type: 'text_delta', text: '!' } }),
    anthropic({ type: 'content_block_stop', index: 1 }),
    anthropic({
      type: 'content_block_start',
      index: 2,
      content_block: { type: 'tool_use', id: 'toolu_01T1x', name: 'get_weather', input: {} },
    }),
    anthropic({ type: 'content_block_delta', index: 2, delta: { type: 'input_json_delta', partial_json: '' } }),
    anthropic({
      type: 'content_block_delta',
      index: 2,
      delta: { type: 'input_json_delta', partial_json: '{"location": "San Fra' },
    }),
    anthropic({ type: 'content_block_delta', index: 2, delta: { type: 'input_json_delta', partial_json: 'ncisco"}' } }),
    anthropic({ type: 'content_block_stop', index: 2 }),
    anthropic({ type: 'message_delta', delta: { stop_reason: 'tool_use' }, usage: { output_tokens: 15 } }),
    anthropic({ type: 'message_stop' }),
  ]);

  it('separates text, thinking and tool input', () => {
    const result = assembleLlmText(stream);
    expect(result.provider).toBe('anthropic');
    expect(result.text).toBe('Hello!');
    expect(result.thinking).toBe('A greeting');
    expect(result.toolInput).toBe('{"location": "San Francisco"}');
    expect(result.eventsUsed).toBe(5);
    expect(result.done).toBe(true);
  });

  it('reports an error event (overloaded)', () => {
    const result = assembleLlmText(
      rows([stream[0]!.data, anthropic({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } })]),
    );
    expect(result.errors).toEqual(['Overloaded']);
    expect(result.done).toBe(false);
  });
});

describe('Gemini', () => {
  it('joins candidates[0].content.parts[].text, thought parts apart', () => {
    const chunk = (parts: unknown[], finishReason?: string) =>
      JSON.stringify({
        candidates: [{ content: { role: 'model', parts }, ...(finishReason && { finishReason, index: 0 }) }],
        usageMetadata: { promptTokenCount: 5 },
        modelVersion: 'gemini-2.5-flash',
      });
    const result = assembleLlmText(
      rows([
        chunk([{ text: 'Considering a reply.', thought: true }]),
        chunk([{ text: 'Bonjour' }]),
        chunk([{ text: ' le monde' }], 'STOP'),
      ]),
    );
    expect(result.provider).toBe('gemini');
    expect(result.text).toBe('Bonjour le monde');
    expect(result.thinking).toBe('Considering a reply.');
    expect(result.done).toBe(true);
  });
});

describe('Ollama NDJSON', () => {
  it('joins message.content from /api/chat', () => {
    const line = (content: string, done = false) =>
      JSON.stringify({
        model: 'llama3.2',
        created_at: '2025-01-10T12:00:00.000Z',
        message: { role: 'assistant', content },
        done,
        ...(done && { done_reason: 'stop', total_duration: 480_000_000, eval_count: 3 }),
      });
    const result = assembleLlmText(rows([line('The'), line(' sky'), line(' is blue.'), line('', true)]));
    expect(result.provider).toBe('ollama');
    expect(result.text).toBe('The sky is blue.');
    expect(result.eventsUsed).toBe(3);
    expect(result.done).toBe(true);
  });

  it('joins response from /api/generate, with thinking', () => {
    const line = (fields: Record<string, unknown>) =>
      JSON.stringify({ model: 'qwen3', created_at: '2025-01-10T12:00:00Z', done: false, ...fields });
    const result = assembleLlmText(
      rows([line({ response: '', thinking: 'Hmm.' }), line({ response: '4' }), line({ response: '', done: true })]),
    );
    expect(result.text).toBe('4');
    expect(result.thinking).toBe('Hmm.');
    expect(result.done).toBe(true);
  });

  it('reports {"error": "..."}', () => {
    const result = assembleLlmText(rows([JSON.stringify({ error: "model 'llama9' not found" })]));
    expect(result.provider).toBeUndefined();
    expect(result.errors).toEqual(["model 'llama9' not found"]);
  });
});

describe('LlmTextAssembler', () => {
  it('skips data that is not JSON without throwing, and detects the format later', () => {
    const result = assembleLlmText(rows(['hello', '{not json', ': comment', '', openAiChunk({ content: 'ok' })]));
    expect(result.provider).toBe('openai');
    expect(result.text).toBe('ok');
  });

  it('detects nothing for unrelated JSON and gives up after a few events', () => {
    const assembler = new LlmTextAssembler();
    const ticks = rows(Array.from({ length: 100 }, (_, i) => JSON.stringify({ price: i })));
    expect(assembler.add(ticks)).toMatchObject({ provider: undefined, text: '', eventsUsed: 0 });
    // Once given up, a later matching event is not taken for an LLM stream.
    expect(assembler.add([...ticks, ...rows([openAiChunk({ content: 'x' })])], 100).provider).toBeUndefined();
  });

  it('sync() consumes only new rows of a growing array, and returns the same result when nothing changed', () => {
    const all = rows([
      openAiChunk({ content: 'a' }),
      openAiChunk({ content: 'b' }),
      openAiChunk({ content: 'c' }),
      '[DONE]',
    ]);
    const growing: StreamEventRow[] = [];
    const assembler = new LlmTextAssembler();
    const texts: string[] = [];
    for (const row of all) {
      growing.push(row);
      texts.push(assembler.sync(growing).text);
    }
    expect(texts).toEqual(['a', 'ab', 'abc', 'abc']);
    expect(assembler.count).toBe(4);
    expect(assembler.sync(growing)).toBe(assembler.sync(growing));

    // Parsing happens once per row: a row already consumed is never parsed again.
    const spy = { parses: 0 };
    const parse = JSON.parse;
    JSON.parse = (text: string) => {
      spy.parses++;
      return parse(text) as unknown;
    };
    try {
      growing.push(...rows([openAiChunk({ content: 'd' })]).map((r) => ({ ...r, index: 4, t: 200 })));
      expect(assembler.sync(growing).text).toBe('abcd');
    } finally {
      JSON.parse = parse;
    }
    expect(spy.parses).toBe(1);
  });

  it('sync() starts over when handed a different stream', () => {
    const assembler = new LlmTextAssembler();
    expect(assembler.sync(rows([openAiChunk({ content: 'first' })])).text).toBe('first');
    const other = rows([
      anthropic({ type: 'message_start', message: {} }),
      anthropic({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'second' } }),
    ]);
    const result = assembler.sync(other);
    expect(result.provider).toBe('anthropic');
    expect(result.text).toBe('second');
  });
});
