import { useMemo } from 'react';
import { headerValue } from '../../../app/proxy-events.js';
import { decodeUtf8 } from '../app/body-format.js';
import { useBody } from '../app/use-body.js';
import type { ExchangeView } from '../model/exchange.js';
import { parseLlmRequest, type LlmRequest } from './llm-request.js';

/**
 * The exchange's request read as an LLM call, once its body has been read; undefined for any
 * other request. Only a JSON body sent with POST is read at all.
 */
export function useLlmRequest(x: ExchangeView): LlmRequest | undefined {
  const { method, headers, url } = x.opened.request;
  const type = headerValue(headers, 'content-type') ?? '';
  const candidate = x.opened.kind === 'http' && method === 'POST' && /json/i.test(type) && x.requestBody.bytes > 0;
  const { body } = useBody(x, 'request', candidate);
  return useMemo(() => {
    if (!candidate || !body) return undefined;
    const text = decodeUtf8(body.bytes);
    return text === undefined ? undefined : parseLlmRequest(url, text);
  }, [candidate, body, url]);
}
