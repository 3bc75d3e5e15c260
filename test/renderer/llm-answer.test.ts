import { describe, expect, it } from 'vitest';
import { parseLlmAnswer } from '../../renderer/src/llm/llm-answer.js';

describe('the answer of an LLM call made without streaming', () => {
  it('OpenAI Chat Completions: the message, its tool calls, the finish reason and usage', () => {
    expect(
      parseLlmAnswer(
        'openai',
        JSON.stringify({
          model: 'gpt-4o-2024',
          choices: [
            {
              index: 0,
              message: {
                role: 'assistant',
                content: 'Checking.',
                tool_calls: [
                  { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } },
                ],
              },
              finish_reason: 'tool_calls',
            },
          ],
          usage: { prompt_tokens: 30, completion_tokens: 12 },
        }),
      ),
    ).toEqual({
      text: 'Checking.',
      thinking: '',
      toolCalls: [{ name: 'get_weather', id: 'call_1', arguments: '{"city":"Oslo"}' }],
      model: 'gpt-4o-2024',
      finishReason: 'tool_calls',
      usage: { input: 30, output: 12 },
    });
  });

  it('Anthropic Messages: thinking, text and tool_use blocks', () => {
    expect(
      parseLlmAnswer(
        'anthropic',
        JSON.stringify({
          model: 'claude-x',
          content: [
            { type: 'thinking', thinking: 'Hmm.' },
            { type: 'text', text: 'Sure.' },
            { type: 'tool_use', id: 'toolu_1', name: 'search', input: { q: 'x' } },
          ],
          stop_reason: 'tool_use',
          usage: { input_tokens: 5, output_tokens: 7 },
        }),
      ),
    ).toEqual({
      text: 'Sure.',
      thinking: 'Hmm.',
      toolCalls: [{ name: 'search', id: 'toolu_1', arguments: '{"q":"x"}' }],
      model: 'claude-x',
      finishReason: 'tool_use',
      usage: { input: 5, output: 7 },
    });
  });

  it('OpenAI Responses, Gemini and Ollama', () => {
    expect(
      parseLlmAnswer(
        'openai-responses',
        JSON.stringify({
          model: 'gpt-5',
          status: 'completed',
          output: [
            { type: 'reasoning', summary: [{ type: 'summary_text', text: 'Plan.' }] },
            { type: 'message', content: [{ type: 'output_text', text: 'Done.' }] },
          ],
        }),
      ),
    ).toMatchObject({ text: 'Done.', thinking: 'Plan.', finishReason: 'completed', model: 'gpt-5' });
    expect(
      parseLlmAnswer(
        'gemini',
        JSON.stringify({
          candidates: [
            {
              content: { parts: [{ text: 'Yes' }, { functionCall: { name: 'f', args: { a: 1 } } }] },
              finishReason: 'STOP',
            },
          ],
          usageMetadata: { promptTokenCount: 2, candidatesTokenCount: 3 },
        }),
      ),
    ).toEqual({
      text: 'Yes',
      thinking: '',
      toolCalls: [{ name: 'f', arguments: '{"a":1}' }],
      finishReason: 'STOP',
      usage: { input: 2, output: 3 },
    });
    expect(
      parseLlmAnswer(
        'ollama',
        JSON.stringify({
          model: 'llama3',
          message: { role: 'assistant', content: 'Hi' },
          done: true,
          done_reason: 'stop',
          eval_count: 2,
        }),
      ),
    ).toEqual({ text: 'Hi', thinking: '', toolCalls: [], model: 'llama3', finishReason: 'stop', usage: { output: 2 } });
  });

  it('is nothing for a body that is not such an answer', () => {
    expect(parseLlmAnswer('openai', '{"error":{"message":"bad key"}}')).toBeUndefined();
    expect(parseLlmAnswer('anthropic', '<html>')).toBeUndefined();
  });
});
