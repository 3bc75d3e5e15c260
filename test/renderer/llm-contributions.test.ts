import { describe, expect, it } from 'vitest';
import { assembleLlmText, type ContributionPart } from '../../renderer/src/sse/llm-text.js';
import { SharedPrefix } from '../../renderer/src/sse/shared-prefix.js';
import type { StreamEventRow } from '../../renderer/src/sse/stream-events.js';

function rows(events: readonly (object | string | [event: string, data: object])[]): StreamEventRow[] {
  return events.map((e, index) => {
    const [event, data] = Array.isArray(e) ? e : [undefined, e];
    return { index, event, data: typeof data === 'string' ? data : JSON.stringify(data), t: 100 + index };
  });
}

/** Each event's parts as `kind:text`, '' for an event that added nothing. */
function contributed(events: readonly (object | string | [string, object])[]): string[] {
  const llm = assembleLlmText(rows(events));
  return events.map((_, i) =>
    (llm.contributions[i] ?? []).map((p: ContributionPart) => `${p.kind}:${p.text}`).join(' | '),
  );
}

describe('what each event of an LLM stream added', () => {
  it('OpenAI Chat Completions: text deltas, a tool call named then its arguments, the stop, usage, the end', () => {
    const chunk = (delta: object, finish: string | null = null, extra: object = {}) => ({
      object: 'chat.completion.chunk',
      model: 'gpt-test',
      choices: [{ index: 0, delta, finish_reason: finish }],
      ...extra,
    });
    expect(
      contributed([
        chunk({ role: 'assistant', content: '' }),
        chunk({ content: 'Hel' }),
        chunk({ content: 'lo there' }),
        chunk({
          tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '' } }],
        }),
        chunk({ tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] }),
        chunk({ tool_calls: [{ index: 0, function: { arguments: '"Oslo"}' } }] }),
        chunk({}, 'tool_calls'),
        { object: 'chat.completion.chunk', choices: [], usage: { prompt_tokens: 12, completion_tokens: 40 } },
        '[DONE]',
      ]),
    ).toEqual([
      '',
      'text:Hel',
      'text:lo there',
      'tool:get_weather (call_1)',
      'args:{"city":',
      'args:"Oslo"}',
      'stop:tool_calls',
      'usage:in 12 · out 40',
      'done:done',
    ]);
  });

  it('Anthropic Messages: usage at the start, thinking apart from text, a tool_use block, the stop and final usage', () => {
    const e = (data: { type: string } & Record<string, unknown>): [string, object] => [data.type, data];
    expect(
      contributed([
        e({ type: 'message_start', message: { model: 'claude-test', usage: { input_tokens: 20, output_tokens: 1 } } }),
        e({ type: 'content_block_start', index: 0, content_block: { type: 'thinking', thinking: '' } }),
        e({ type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: 'Let me think.' } }),
        e({ type: 'content_block_delta', index: 1, delta: { type: 'text_delta', text: 'Hi' } }),
        e({
          type: 'content_block_start',
          index: 2,
          content_block: { type: 'tool_use', id: 'toolu_1', name: 'search', input: {} },
        }),
        e({ type: 'content_block_delta', index: 2, delta: { type: 'input_json_delta', partial_json: '{"q":"x"}' } }),
        e({ type: 'ping' }),
        e({ type: 'message_delta', delta: { stop_reason: 'tool_use' }, usage: { output_tokens: 30 } }),
        e({ type: 'message_stop' }),
      ]),
    ).toEqual([
      'usage:in 20 · out 1',
      '',
      'thinking:Let me think.',
      'text:Hi',
      'tool:search (toolu_1)',
      'args:{"q":"x"}',
      '',
      'usage:in 20 · out 30 | stop:tool_use',
      'done:done',
    ]);
  });

  it('OpenAI Responses: text and reasoning deltas, a function call and its arguments, usage at completion', () => {
    expect(
      contributed([
        { type: 'response.created', response: { model: 'gpt-r' } },
        { type: 'response.reasoning_summary_text.delta', delta: 'Plan.' },
        { type: 'response.output_text.delta', delta: 'Answer' },
        {
          type: 'response.output_item.added',
          output_index: 1,
          item: { type: 'function_call', id: 'fc_1', call_id: 'call_9', name: 'lookup', arguments: '' },
        },
        { type: 'response.function_call_arguments.delta', item_id: 'fc_1', delta: '{"id":7}' },
        {
          type: 'response.completed',
          response: { status: 'completed', usage: { input_tokens: 5, output_tokens: 9 } },
        },
      ]),
    ).toEqual([
      '',
      'thinking:Plan.',
      'text:Answer',
      'tool:lookup (call_9)',
      'args:{"id":7}',
      'usage:in 5 · out 9 | stop:completed | done:done',
    ]);
  });

  it('Gemini: thought and text parts, a whole function call, usage only when it changes', () => {
    const part = (parts: object[], usage?: object, finishReason?: string) => ({
      candidates: [{ content: { role: 'model', parts }, ...(finishReason && { finishReason }) }],
      ...(usage && { usageMetadata: usage }),
    });
    const usage = { promptTokenCount: 3, candidatesTokenCount: 4 };
    expect(
      contributed([
        part([{ text: 'Hmm', thought: true }], usage),
        part([{ text: 'Yes' }], usage),
        part([{ functionCall: { name: 'f', args: { a: 1 } } }], { ...usage, candidatesTokenCount: 6 }, 'STOP'),
      ]),
    ).toEqual([
      'thinking:Hmm | usage:in 3 · out 4',
      'text:Yes',
      'tool:f | args:{"name":"f","args":{"a":1}} | usage:in 3 · out 6 | stop:STOP | done:done',
    ]);
  });

  it('Ollama: message content per line, then the counts and the end', () => {
    expect(
      contributed([
        { model: 'llama', message: { role: 'assistant', content: 'Hi' }, done: false },
        { model: 'llama', message: { role: 'assistant', content: '!' }, done: false },
        {
          model: 'llama',
          message: { role: 'assistant', content: '' },
          done: true,
          done_reason: 'stop',
          prompt_eval_count: 7,
          eval_count: 2,
        },
      ]),
    ).toEqual(['text:Hi', 'text:!', 'usage:in 7 · out 2 | stop:stop | done:done']);
  });

  it('an error the stream reports is its event’s contribution', () => {
    expect(contributed([{ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }])).toEqual([
      'error:Overloaded',
    ]);
  });
});

describe('the start every event shares', () => {
  it('is cut after a field boundary once three events share 16 characters or more, and shrinks as events differ', () => {
    const prefix = new SharedPrefix();
    const list = rows([
      { kind: 'progress', job: 'build-42', done: 1 },
      { kind: 'progress', job: 'build-42', done: 2 },
    ]);
    expect(prefix.sync(list)).toBe(0);
    list.push(...rows([{ kind: 'progress', job: 'build-42', done: 3 }]));
    // `{"kind":"progress","job":"build-42",` is shared: the cut falls after its last comma.
    expect(prefix.sync(list)).toBe('{"kind":"progress","job":"build-42",'.length);
    list.push(...rows([{ kind: 'finished' }]));
    expect(prefix.sync(list)).toBe(0);
  });
});
