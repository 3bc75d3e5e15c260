import { describe, expect, it } from 'vitest';
import { parseLlmRequest } from '../../renderer/src/llm/llm-request.js';

const WEATHER_SCHEMA = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] };
/** 12 bytes of PNG, base64. */
const PNG = Buffer.from('89504e470d0a1a0a00000000', 'hex').toString('base64');

describe('an LLM request read as a conversation', () => {
  it('OpenAI Chat Completions: system, turns, an image, a tool call and its result, the tools offered', () => {
    const request = parseLlmRequest(
      'https://api.openai.com/v1/chat/completions',
      JSON.stringify({
        model: 'gpt-4o',
        temperature: 0.2,
        stream: true,
        messages: [
          { role: 'system', content: 'You are terse.' },
          {
            role: 'user',
            content: [
              { type: 'text', text: 'Weather in Oslo?' },
              { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}` } },
            ],
          },
          {
            role: 'assistant',
            content: null,
            tool_calls: [
              { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } },
            ],
          },
          { role: 'tool', tool_call_id: 'call_1', content: '{"temp":3}' },
        ],
        tools: [
          {
            type: 'function',
            function: { name: 'get_weather', description: 'Current weather', parameters: WEATHER_SCHEMA },
          },
        ],
      }),
    );
    expect(request).toEqual({
      format: 'openai',
      model: 'gpt-4o',
      params: [
        ['temperature', '0.2'],
        ['stream', 'true'],
      ],
      system: 'You are terse.',
      messages: [
        {
          role: 'user',
          parts: [
            { kind: 'text', text: 'Weather in Oslo?' },
            { kind: 'media', label: 'image/png, 12 B' },
          ],
        },
        {
          role: 'assistant',
          parts: [{ kind: 'tool-call', name: 'get_weather', id: 'call_1', arguments: '{"city":"Oslo"}' }],
        },
        { role: 'tool', parts: [{ kind: 'tool-result', id: 'call_1', content: '{"temp":3}' }] },
      ],
      tools: [{ name: 'get_weather', description: 'Current weather', schema: WEATHER_SCHEMA }],
    });
  });

  it('Anthropic Messages: the top-level system, tool_use and tool_result blocks, input_schema', () => {
    const request = parseLlmRequest(
      'https://api.anthropic.com/v1/messages',
      JSON.stringify({
        model: 'claude-sonnet',
        max_tokens: 1024,
        system: [{ type: 'text', text: 'Be kind.' }],
        messages: [
          { role: 'user', content: 'Hi' },
          { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'search', input: { q: 'x' } }] },
          {
            role: 'user',
            content: [
              { type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'text', text: 'found' }] },
              { type: 'image', source: { type: 'base64', media_type: 'image/jpeg', data: PNG } },
            ],
          },
        ],
        tools: [{ name: 'search', description: 'Search', input_schema: WEATHER_SCHEMA }],
      }),
    );
    expect(request).toMatchObject({
      format: 'anthropic',
      model: 'claude-sonnet',
      params: [['max_tokens', '1024']],
      system: 'Be kind.',
      messages: [
        { role: 'user', parts: [{ kind: 'text', text: 'Hi' }] },
        { role: 'assistant', parts: [{ kind: 'tool-call', name: 'search', id: 'toolu_1', arguments: '{"q":"x"}' }] },
        {
          role: 'user',
          parts: [
            { kind: 'tool-result', id: 'toolu_1', content: 'found' },
            { kind: 'media', label: 'image/jpeg, 12 B' },
          ],
        },
      ],
      tools: [{ name: 'search', description: 'Search', schema: WEATHER_SCHEMA }],
    });
  });

  it('OpenAI Responses: instructions, input items, function calls and outputs, function tools', () => {
    const request = parseLlmRequest(
      'https://api.openai.com/v1/responses',
      JSON.stringify({
        model: 'gpt-5',
        instructions: 'Answer in French.',
        input: [
          { role: 'user', content: [{ type: 'input_text', text: 'Bonjour' }] },
          { type: 'function_call', call_id: 'c1', name: 'lookup', arguments: '{"id":1}' },
          { type: 'function_call_output', call_id: 'c1', output: 'ok' },
        ],
        tools: [
          { type: 'function', name: 'lookup', description: 'Find', parameters: WEATHER_SCHEMA },
          { type: 'web_search' },
        ],
        reasoning: { effort: 'low' },
      }),
    );
    expect(request).toMatchObject({
      format: 'openai-responses',
      system: 'Answer in French.',
      params: [['reasoning', '{"effort":"low"}']],
      messages: [
        { role: 'user', parts: [{ kind: 'text', text: 'Bonjour' }] },
        { role: 'assistant', parts: [{ kind: 'tool-call', name: 'lookup', id: 'c1', arguments: '{"id":1}' }] },
        { role: 'tool', parts: [{ kind: 'tool-result', id: 'c1', content: 'ok' }] },
      ],
      tools: [{ name: 'lookup', description: 'Find', schema: WEATHER_SCHEMA }, { name: 'web_search' }],
    });
  });

  it('Gemini: systemInstruction, contents with function call and response, generationConfig as parameters', () => {
    const request = parseLlmRequest(
      'https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse',
      JSON.stringify({
        systemInstruction: { parts: [{ text: 'Short answers.' }] },
        contents: [
          { role: 'user', parts: [{ text: 'Weather?' }, { inlineData: { mimeType: 'image/png', data: PNG } }] },
          { role: 'model', parts: [{ functionCall: { name: 'get_weather', args: { city: 'Oslo' } } }] },
          { role: 'user', parts: [{ functionResponse: { name: 'get_weather', response: { temp: 3 } } }] },
        ],
        tools: [
          { functionDeclarations: [{ name: 'get_weather', description: 'Weather', parameters: WEATHER_SCHEMA }] },
        ],
        generationConfig: { temperature: 0, maxOutputTokens: 200 },
      }),
    );
    expect(request).toMatchObject({
      format: 'gemini',
      system: 'Short answers.',
      params: [
        ['temperature', '0'],
        ['maxOutputTokens', '200'],
      ],
      messages: [
        {
          role: 'user',
          parts: [
            { kind: 'text', text: 'Weather?' },
            { kind: 'media', label: 'image/png, 12 B' },
          ],
        },
        { role: 'model', parts: [{ kind: 'tool-call', name: 'get_weather', arguments: '{"city":"Oslo"}' }] },
        { role: 'user', parts: [{ kind: 'tool-result', name: 'get_weather', content: '{"temp":3}' }] },
      ],
      tools: [{ name: 'get_weather', description: 'Weather', schema: WEATHER_SCHEMA }],
    });
  });

  it('Ollama: /api/chat with a system message, a tool result and options; /api/generate with its prompt', () => {
    expect(
      parseLlmRequest(
        'http://127.0.0.1:11434/api/chat',
        JSON.stringify({
          model: 'llama3',
          messages: [
            { role: 'system', content: 'Be brief.' },
            { role: 'user', content: 'Hi', images: [PNG] },
            { role: 'tool', tool_name: 'clock', content: '12:00' },
          ],
          tools: [{ type: 'function', function: { name: 'clock', parameters: { type: 'object' } } }],
          options: { num_ctx: 4096 },
        }),
      ),
    ).toMatchObject({
      format: 'ollama',
      system: 'Be brief.',
      params: [['num_ctx', '4096']],
      messages: [
        {
          role: 'user',
          parts: [
            { kind: 'text', text: 'Hi' },
            { kind: 'media', label: 'image, 12 B' },
          ],
        },
        { role: 'tool', parts: [{ kind: 'tool-result', name: 'clock', content: '12:00' }] },
      ],
      tools: [{ name: 'clock', schema: { type: 'object' } }],
    });
    expect(
      parseLlmRequest('http://127.0.0.1:11434/api/generate', '{"model":"llama3","prompt":"Why?","system":"Sys"}'),
    ).toMatchObject({ system: 'Sys', messages: [{ role: 'user', parts: [{ kind: 'text', text: 'Why?' }] }] });
  });

  it('is nothing for a request that is not one of these', () => {
    expect(parseLlmRequest('https://example.com/api/orders', '{"item":"tea"}')).toBeUndefined();
    expect(parseLlmRequest('https://example.com/v1/chat/completions', 'not json')).toBeUndefined();
  });
});
