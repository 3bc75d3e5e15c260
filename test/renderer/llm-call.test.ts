import { describe, expect, it } from 'vitest';
import type { HostEvent } from '../../app/contract.js';
import { llmCallOf } from '../../renderer/src/llm/llm-call.js';
import { applyEvent, emptyTraffic } from '../../renderer/src/store/apply-event.js';
import type { ExchangeView } from '../../renderer/src/model/exchange.js';
import { openedEvent } from '../helpers/host-events.js';

function exchange(method: string, url: string, sse: string[] = []): ExchangeView {
  const traffic = emptyTraffic();
  applyEvent(traffic, {
    ...(openedEvent(1, { url }) as Extract<HostEvent, { type: 'exchange-opened' }>),
    request: { method, url, httpVersion: '1.1', headers: [] },
  });
  sse.forEach((data, index) =>
    applyEvent(traffic, {
      type: 'sse-event',
      id: 1,
      index,
      eventId: undefined,
      event: undefined,
      data,
      t: 10 + index,
      chunkRange: [index, index],
    }),
  );
  return traffic.exchanges.get(1)!;
}

describe('which exchanges are LLM calls', () => {
  it('knows the APIs by their endpoints, and a model named in the path', () => {
    expect(llmCallOf(exchange('POST', 'https://api.anthropic.com/v1/messages'))).toEqual({
      api: 'anthropic',
      model: undefined,
    });
    expect(
      llmCallOf(
        exchange(
          'POST',
          'https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse',
        ),
      ),
    ).toEqual({ api: 'gemini', model: 'gemini-2.5-flash' });
    expect(
      llmCallOf(
        exchange(
          'POST',
          'https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-3-haiku/converse-stream',
        ),
      ),
    ).toEqual({ api: 'bedrock', model: 'anthropic.claude-3-haiku' });
    expect(llmCallOf(exchange('GET', 'https://api.openai.com/v1/chat/completions'))).toBeUndefined();
    expect(llmCallOf(exchange('POST', 'https://shop.test/api/orders'))).toBeUndefined();
  });

  it('learns the model when the first events come, however many come at once', () => {
    const x = exchange('POST', 'https://api.openai.com/v1/chat/completions');
    expect(llmCallOf(x)).toEqual({ api: 'openai', model: undefined });
    const chunk = JSON.stringify({ object: 'chat.completion.chunk', model: 'gpt-test', choices: [] });
    for (let index = 0; index < 5; index++) {
      x.sse.push({
        type: 'sse-event',
        id: 1,
        index,
        eventId: undefined,
        event: undefined,
        data: chunk,
        t: 10,
        chunkRange: [0, 0],
      });
    }
    expect(llmCallOf(x)).toEqual({ api: 'openai', model: 'gpt-test' });
  });

  it('knows a stream in one of their formats anywhere, with the model it names', () => {
    const chunk = JSON.stringify({
      object: 'chat.completion.chunk',
      model: 'local-7b',
      choices: [{ index: 0, delta: { content: 'x' } }],
    });
    expect(llmCallOf(exchange('POST', 'http://127.0.0.1:8000/proxy/llm', [chunk]))).toEqual({
      api: 'openai',
      model: 'local-7b',
    });
    expect(llmCallOf(exchange('GET', 'http://127.0.0.1:8000/ticks', ['{"tick":1}', '{"tick":2}']))).toBeUndefined();
  });
});
