import { describe, expect, it } from 'vitest';
import { assembleLlmText } from '../../renderer/src/sse/llm-text.js';
import type { StreamEventRow } from '../../renderer/src/sse/stream-events.js';

function rows(events: readonly (object | [event: string, data: object])[]): StreamEventRow[] {
  return events.map((e, index) => {
    const [event, data] = Array.isArray(e) ? e : [undefined, e];
    return { index, event, data: JSON.stringify(data), t: 100 + index };
  });
}

describe('tool calls, one per call, with their name and id', () => {
  it('OpenAI: the first delta names the call, the rest stream its arguments; calls kept apart by index', () => {
    const call = (index: number, fn: object, id?: string) => ({
      object: 'chat.completion.chunk',
      choices: [{ index: 0, delta: { tool_calls: [{ index, ...(id && { id, type: 'function' }), function: fn }] } }],
    });
    const llm = assembleLlmText(
      rows([
        call(0, { name: 'get_weather', arguments: '' }, 'call_1'),
        call(0, { arguments: '{"city":' }),
        call(1, { name: 'get_time', arguments: '' }, 'call_2'),
        call(0, { arguments: '"Oslo"}' }),
        call(1, { arguments: '{}' }),
      ]),
    );
    expect(llm.toolCalls).toEqual([
      { name: 'get_weather', id: 'call_1', arguments: '{"city":"Oslo"}' },
      { name: 'get_time', id: 'call_2', arguments: '{}' },
    ]);
  });

  it('Anthropic: a tool_use block names the call, input_json_delta streams it', () => {
    const llm = assembleLlmText(
      rows([
        {
          type: 'content_block_start',
          index: 1,
          content_block: { type: 'tool_use', id: 'toolu_1', name: 'search', input: {} },
        },
        { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '{"q":"sl' } },
        { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: 'uice"}' } },
      ]),
    );
    expect(llm.toolCalls).toEqual([{ name: 'search', id: 'toolu_1', arguments: '{"q":"sluice"}' }]);
  });

  it('OpenAI Responses: the output item names the call, argument deltas follow by item id', () => {
    const llm = assembleLlmText(
      rows([
        {
          type: 'response.output_item.added',
          output_index: 0,
          item: { type: 'function_call', id: 'fc_1', call_id: 'call_9', name: 'lookup', arguments: '' },
        },
        { type: 'response.function_call_arguments.delta', item_id: 'fc_1', delta: '{"id":' },
        { type: 'response.function_call_arguments.delta', item_id: 'fc_1', delta: '7}' },
      ]),
    );
    expect(llm.toolCalls).toEqual([{ name: 'lookup', id: 'call_9', arguments: '{"id":7}' }]);
  });

  it('Gemini and Ollama send each call whole', () => {
    const gemini = assembleLlmText(
      rows([{ candidates: [{ content: { parts: [{ functionCall: { name: 'move', args: { x: 1 } } }] } }] }]),
    );
    expect(gemini.toolCalls).toEqual([{ name: 'move', arguments: '{"x":1}' }]);
    expect(gemini.toolInput).toBe('{"name":"move","args":{"x":1}}');
    const ollama = assembleLlmText(
      rows([
        {
          model: 'llama3',
          message: {
            role: 'assistant',
            content: '',
            tool_calls: [{ function: { name: 'add', arguments: { a: 1, b: 2 } } }],
          },
          done: false,
        },
      ]),
    );
    expect(ollama.toolCalls).toEqual([{ name: 'add', arguments: '{"a":1,"b":2}' }]);
  });
});
