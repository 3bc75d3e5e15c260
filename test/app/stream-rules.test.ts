import { describe, expect, it } from 'vitest';
import { parseStreamRules, StreamRulesError, textMatcher } from '../../app/stream-rules.js';

const errorOf = (document: unknown): string => {
  try {
    parseStreamRules(document);
  } catch (err) {
    expect(err).toBeInstanceOf(StreamRulesError);
    return (err as Error).message;
  }
  throw new Error('accepted');
};

describe('the rules file', () => {
  it('reads every action and fills in the defaults', () => {
    const rules = parseStreamRules({
      rules: [
        {
          name: 'llm',
          match: {
            host: '*.openai.com',
            path: '/v1/*',
            method: 'POST',
            contentType: 'text/event-stream*',
            protocol: 'h2',
          },
          actions: [
            { type: 'delay-head', ms: [100, 300] },
            { type: 'latency', ms: 200 },
            { type: 'bandwidth', bytesPerSecond: 1000 },
            { type: 'stall', afterEvents: 3, ms: 5000 },
            { type: 'reset', afterEvents: 40 },
          ],
        },
        {
          name: 'cut',
          enabled: false,
          actions: [
            { type: 'end', afterBytes: 10 },
            { type: 'hang', afterEvents: 0 },
          ],
        },
        { name: 'mock', match: { path: '/health' }, actions: [{ type: 'respond', status: 503 }] },
      ],
    });
    expect(rules[0]).toMatchObject({
      enabled: true,
      actions: [{}, { per: 'event' }, { direction: 'response' }, {}, { code: 'CANCEL' }],
    });
    expect(rules[1]).toMatchObject({ enabled: false, match: {} });
    expect(rules[2]!.actions[0]).toEqual({ type: 'respond', status: 503, headers: {}, body: '' });
  });

  it('refuses what it cannot use, naming the field', () => {
    expect(errorOf([])).toBe('(file): must be an object');
    expect(errorOf({ rules: {} })).toBe('rules: must be a list of rules');
    expect(errorOf({ rules: [{ name: '', actions: [] }] })).toBe('rules[0].name: must be a non-empty text');
    expect(errorOf({ rules: [{ name: 'a', actions: [] }] })).toBe(
      'rules[0].actions: must be a list of at least one action',
    );
    expect(errorOf({ rules: [{ name: 'a', actions: [{ type: 'latency', ms: -1 }] }] })).toBe(
      'rules[0].actions[0].ms: must be a number of milliseconds from 0 to 86400000',
    );
    expect(errorOf({ rules: [{ name: 'a', actions: [{ type: 'latency', ms: [300, 100] }] }] })).toBe(
      'rules[0].actions[0].ms: a range is [min, max] with min <= max',
    );
    expect(errorOf({ rules: [{ name: 'a', actions: [{ type: 'end', afterEvent: 5 }] }] })).toBe(
      'rules[0].actions[0].afterEvent: is not a field here (expected type, afterEvents, afterBytes)',
    );
    expect(errorOf({ rules: [{ name: 'a', actions: [{ type: 'end' }] }] })).toBe(
      'rules[0].actions[0]: needs afterEvents or afterBytes (0 for at once)',
    );
    expect(errorOf({ rules: [{ name: 'a', actions: [{ type: 'slow' }] }] })).toMatch(
      /^rules\[0\]\.actions\[0\]\.type: must be one of delay-head, /,
    );
    expect(errorOf({ rules: [{ name: 'a', actions: [{ type: 'reset', afterEvents: 1, code: 'OOPS' }] }] })).toMatch(
      /^rules\[0\]\.actions\[0\]\.code: must be one of NO_ERROR, /,
    );
    expect(
      errorOf({ rules: [{ name: 'a', match: { path: '/(/' }, actions: [{ type: 'hang', afterEvents: 1 }] }] }),
    ).toMatch(/^rules\[0\]\.match\.path: is not a valid pattern/);
    expect(
      errorOf({ rules: [{ name: 'a', match: { protocol: 'h3' }, actions: [{ type: 'hang', afterEvents: 1 }] }] }),
    ).toBe('rules[0].match.protocol: must be one of http/1.1, h2');
    expect(
      errorOf({
        rules: [{ name: 'a', match: { contentType: 'text/*' }, actions: [{ type: 'respond', status: 200 }] }],
      }),
    ).toBe('rules[0].match.contentType: a respond rule answers before any response, so it cannot match one');
    expect(errorOf({ rules: [{ name: 'a', actions: [{ type: 'drop', event: 0 }] }] })).toBe(
      'rules[0].actions[0].event: must be a whole number, 1 or more (the first event is 1)',
    );
    expect(errorOf({ rules: [{ name: 'a', actions: [{ type: 'rewrite' }] }] })).toBe(
      'rules[0].actions[0]: takes replace: { from, to } or set: { path, value }, one of them',
    );
    expect(errorOf({ rules: [{ name: 'a', actions: [{ type: 'rewrite', set: { path: 'x' } }] }] })).toBe(
      'rules[0].actions[0].set.value: is missing (null is a value)',
    );
    expect(errorOf({ rules: [{ name: 'a', actions: [{ type: 'inject', data: 'x', position: 'middle' }] }] })).toBe(
      'rules[0].actions[0].position: must be "before" or "after"',
    );
    expect(
      errorOf({
        rules: [
          { name: 'a', actions: [{ type: 'hang', afterEvents: 1 }] },
          { name: 'a', actions: [{ type: 'hang', afterEvents: 2 }] },
        ],
      }),
    ).toBe('rules[1].name: "a" is already the name of rules[0]');
    expect(errorOf({ rules: [{ name: 'a', actions: [{ type: 'respond', status: 99 }] }] })).toBe(
      'rules[0].actions[0].status: must be an HTTP status from 200 to 599',
    );
  });

  it('takes direction "request" on timing and content actions: the client’s messages', () => {
    const [rule] = parseStreamRules({
      rules: [
        {
          name: 'client side',
          actions: [
            { type: 'latency', ms: 50, direction: 'request' },
            { type: 'drop', event: 2, direction: 'request' },
            { type: 'breakpoint', where: 'secret', direction: 'request' },
            { type: 'breakpoint', direction: 'request' },
            { type: 'rewrite', replace: { from: 'a', to: 'b' }, direction: 'response' },
          ],
        },
      ],
    });
    expect(rule!.actions).toEqual([
      { type: 'latency', ms: 50, per: 'event', direction: 'request' },
      { type: 'drop', event: 2, direction: 'request' },
      { type: 'breakpoint', where: 'secret', direction: 'request' },
      { type: 'breakpoint', direction: 'request' },
      { type: 'rewrite', replace: { from: 'a', to: 'b' } },
    ]);
    expect(errorOf({ rules: [{ name: 'a', actions: [{ type: 'drop', direction: 'up' }] }] })).toBe(
      'rules[0].actions[0].direction: must be "request" or "response"',
    );
    expect(errorOf({ rules: [{ name: 'a', actions: [{ type: 'end', afterEvents: 1, direction: 'request' }] }] })).toBe(
      'rules[0].actions[0].direction: is not a field here (expected type, afterEvents, afterBytes)',
    );
    expect(
      errorOf({
        rules: [
          { name: 'a', match: { contentType: 'text/*' }, actions: [{ type: 'drop', event: 1, direction: 'request' }] },
        ],
      }),
    ).toBe(
      'rules[0].match.contentType: an action on the request works before any response, so its rule cannot match one',
    );
  });

  it('matches globs whole and case-insensitively, and /regular expressions/', () => {
    expect(textMatcher('*.openai.com')('api.OpenAI.com')).toBe(true);
    expect(textMatcher('*.openai.com')('openai.com.evil')).toBe(false);
    expect(textMatcher('/v1/chat?')('/v1/chats')).toBe(true);
    expect(textMatcher('/^\\/v[12]\\//')('/v2/x')).toBe(true);
    expect(textMatcher('/^\\/v[12]\\//')('/v3/x')).toBe(false);
  });
});
