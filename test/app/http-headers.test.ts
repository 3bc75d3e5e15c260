import { describe, expect, it } from 'vitest';
import { isEventStream } from '../../app/http-headers.js';
import { isEventStream as coreIsEventStream } from '../../proxy-core/index.js';

describe('isEventStream', () => {
  it('knows text/event-stream in any case, spacing and parameters', () => {
    expect(isEventStream('text/event-stream')).toBe(true);
    expect(isEventStream('Text/Event-Stream; charset=utf-8')).toBe(true);
    expect(isEventStream('  text/event-stream  ;charset=utf-8')).toBe(true);
    expect(isEventStream('text/event-stream\t')).toBe(true);
  });

  it('refuses other types, near misses and no type', () => {
    expect(isEventStream('text/plain')).toBe(false);
    expect(isEventStream('text/event-streams')).toBe(false);
    expect(isEventStream('text/event-stream x')).toBe(false);
    expect(isEventStream('application/json, text/event-stream')).toBe(false);
    expect(isEventStream('')).toBe(false);
    expect(isEventStream(undefined)).toBe(false);
  });

  it('is the one the core exports', () => {
    expect(coreIsEventStream).toBe(isEventStream);
  });
});
