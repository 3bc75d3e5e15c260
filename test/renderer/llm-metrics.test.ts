import { describe, expect, it } from 'vitest';
import { assembleLlmText } from '../../renderer/src/sse/llm-text.js';
import { llmMetrics } from '../../renderer/src/sse/llm-metrics.js';
import type { StreamEventRow } from '../../renderer/src/sse/stream-events.js';

/** Events as recorded: `[t, data]` or `[t, event, data]`; the request started at 1000. */
function stream(
  events: readonly (readonly [number, unknown] | readonly [number, string, unknown])[],
): StreamEventRow[] {
  return events.map((e, index) => {
    const [t, event, data] = e.length === 3 ? e : [e[0], undefined, e[1]];
    return { index, event, data: typeof data === 'string' ? data : JSON.stringify(data), t };
  });
}

const START = 1000;

describe('LLM stream metrics, hand-computed', () => {
  it('OpenAI Chat Completions: usage from the last chunk, the role chunk writes nothing', () => {
    const chunk = (content: unknown, finish: string | null = null) => ({
      object: 'chat.completion.chunk',
      model: 'gpt-4o-mini',
      choices: [{ index: 0, delta: content === undefined ? {} : { content }, finish_reason: finish }],
    });
    const llm = assembleLlmText(
      stream([
        [1400, chunk('')],
        [1500, chunk('Hel')],
        [1520, chunk('lo')],
        [1600, chunk('!')],
        [1610, chunk(undefined, 'stop')],
        [
          1620,
          {
            object: 'chat.completion.chunk',
            model: 'gpt-4o-mini',
            choices: [],
            usage: {
              prompt_tokens: 12,
              completion_tokens: 3,
              prompt_tokens_details: { cached_tokens: 4 },
              completion_tokens_details: { reasoning_tokens: 0 },
            },
          },
        ],
        [1630, '[DONE]'],
      ]),
    );
    expect(llm).toMatchObject({ model: 'gpt-4o-mini', finishReason: 'stop' });
    expect(llm.usage).toEqual({ input: 12, output: 3, cached: 4, reasoning: 0 });
    expect(llmMetrics(llm, START)).toEqual({
      timeToFirstTokenMs: 500,
      outputTokens: 3,
      tokensFrom: 'usage',
      tokensPerSecond: 30,
      gapMedianMs: 50,
      gapP99Ms: 80,
      longestStall: { ms: 80, beforeEvent: 3 },
    });
  });

  it('Anthropic Messages: thinking counts as writing; output tokens from message_delta', () => {
    const llm = assembleLlmText(
      stream([
        [
          1300,
          'message_start',
          {
            type: 'message_start',
            message: {
              model: 'claude-sonnet-4-5',
              usage: { input_tokens: 25, cache_read_input_tokens: 10, output_tokens: 1 },
            },
          },
        ],
        [
          1310,
          'content_block_start',
          { type: 'content_block_start', index: 0, content_block: { type: 'thinking', thinking: '' } },
        ],
        [
          1350,
          'content_block_delta',
          { type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: 'hmm' } },
        ],
        [
          1400,
          'content_block_start',
          { type: 'content_block_start', index: 1, content_block: { type: 'text', text: '' } },
        ],
        [
          1450,
          'content_block_delta',
          { type: 'content_block_delta', index: 1, delta: { type: 'text_delta', text: 'Hi' } },
        ],
        [
          1470,
          'content_block_delta',
          { type: 'content_block_delta', index: 1, delta: { type: 'text_delta', text: ' there' } },
        ],
        [
          1500,
          'message_delta',
          { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 7 } },
        ],
        [1510, 'message_stop', { type: 'message_stop' }],
      ]),
    );
    expect(llm).toMatchObject({
      model: 'claude-sonnet-4-5',
      finishReason: 'end_turn',
      thinking: 'hmm',
      text: 'Hi there',
    });
    expect(llm.usage).toEqual({ input: 25, output: 7, cached: 10 });
    const metrics = llmMetrics(llm, START);
    expect(metrics).toMatchObject({
      timeToFirstTokenMs: 350,
      outputTokens: 7,
      tokensFrom: 'usage',
      gapMedianMs: 60,
      gapP99Ms: 100,
      longestStall: { ms: 100, beforeEvent: 4 },
    });
    expect(metrics.tokensPerSecond).toBeCloseTo(7 / 0.12, 9);
  });

  it('Gemini: usageMetadata with thoughts; the finish reason ends it', () => {
    const llm = assembleLlmText(
      stream([
        [1200, { candidates: [{ content: { parts: [{ text: 'A' }] } }], modelVersion: 'gemini-2.0-flash' }],
        [
          1300,
          {
            candidates: [{ content: { parts: [{ text: 'B' }] }, finishReason: 'STOP' }],
            usageMetadata: { promptTokenCount: 5, candidatesTokenCount: 2, thoughtsTokenCount: 1 },
          },
        ],
      ]),
    );
    expect(llm).toMatchObject({ model: 'gemini-2.0-flash', finishReason: 'STOP', done: true });
    expect(llm.usage).toEqual({ input: 5, output: 2, reasoning: 1 });
    expect(llmMetrics(llm, START)).toEqual({
      timeToFirstTokenMs: 200,
      outputTokens: 2,
      tokensFrom: 'usage',
      tokensPerSecond: 20,
      gapMedianMs: 100,
      gapP99Ms: 100,
      longestStall: { ms: 100, beforeEvent: 1 },
    });
  });

  it('Ollama: counts from the final line', () => {
    const line = (content: string, done = false, extra: object = {}) => ({
      model: 'llama3',
      message: { role: 'assistant', content },
      done,
      ...extra,
    });
    const llm = assembleLlmText(
      stream([
        [1100, line('x')],
        [1150, line('y')],
        [1160, line('', true, { done_reason: 'stop', prompt_eval_count: 9, eval_count: 2 })],
      ]),
    );
    expect(llm).toMatchObject({ model: 'llama3', finishReason: 'stop' });
    expect(llm.usage).toEqual({ input: 9, output: 2 });
    expect(llmMetrics(llm, START)).toMatchObject({ timeToFirstTokenMs: 100, tokensPerSecond: 40, gapMedianMs: 50 });
  });

  it('OpenAI Responses: model and usage from the response, its status as the finish', () => {
    const response = (status: string, usage?: object) => ({ model: 'gpt-4.1', status, ...(usage && { usage }) });
    const llm = assembleLlmText(
      stream([
        [1050, 'response.created', { type: 'response.created', response: response('in_progress') }],
        [1250, 'response.output_text.delta', { type: 'response.output_text.delta', delta: 'O' }],
        [1260, 'response.output_text.delta', { type: 'response.output_text.delta', delta: 'K' }],
        [
          1270,
          'response.completed',
          {
            type: 'response.completed',
            response: response('completed', {
              input_tokens: 8,
              output_tokens: 2,
              input_tokens_details: { cached_tokens: 0 },
              output_tokens_details: { reasoning_tokens: 0 },
            }),
          },
        ],
      ]),
    );
    expect(llm).toMatchObject({ model: 'gpt-4.1', finishReason: 'completed', text: 'OK' });
    expect(llm.usage).toEqual({ input: 8, output: 2, cached: 0, reasoning: 0 });
    expect(llmMetrics(llm, START)).toMatchObject({ timeToFirstTokenMs: 250, outputTokens: 2 });
    expect(llmMetrics(llm, START).tokensPerSecond).toBeCloseTo(200, 9);
  });

  it('without usage, counts the events that wrote; one event has no gaps', () => {
    const chunk = (content: string) => ({
      object: 'chat.completion.chunk',
      choices: [{ index: 0, delta: { content } }],
    });
    expect(
      llmMetrics(
        assembleLlmText(
          stream([
            [1300, chunk('a')],
            [1400, chunk('b')],
          ]),
        ),
        START,
      ),
    ).toEqual({
      timeToFirstTokenMs: 300,
      outputTokens: 2,
      tokensFrom: 'events',
      tokensPerSecond: 20,
      gapMedianMs: 100,
      gapP99Ms: 100,
      longestStall: { ms: 100, beforeEvent: 1 },
    });
    expect(llmMetrics(assembleLlmText(stream([[1300, chunk('a')]])), START)).toEqual({
      timeToFirstTokenMs: 300,
      outputTokens: 1,
      tokensFrom: 'events',
    });
    expect(llmMetrics(assembleLlmText(stream([[1300, '{"other":1}']])), START)).toEqual({});
  });
});
