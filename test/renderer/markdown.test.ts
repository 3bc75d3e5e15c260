import { describe, expect, it } from 'vitest';
import { parseInline, parseMarkdown } from '../../renderer/src/sse/markdown.js';

describe('the Markdown a model writes', () => {
  it('reads headings, paragraphs, lists, quotes and fenced code', () => {
    const blocks = parseMarkdown(
      '# Plan\nFirst line\nsame paragraph.\n\n- one\n- two\n1. first\n2) second\n> careful\n```ts\nconst x = 1;\n\nx++;\n```\nafter',
    );
    expect(blocks).toEqual([
      { kind: 'heading', level: 1, text: [{ kind: 'text', text: 'Plan' }] },
      { kind: 'paragraph', text: [{ kind: 'text', text: 'First line same paragraph.' }] },
      { kind: 'list', ordered: false, items: [[{ kind: 'text', text: 'one' }], [{ kind: 'text', text: 'two' }]] },
      { kind: 'list', ordered: true, items: [[{ kind: 'text', text: 'first' }], [{ kind: 'text', text: 'second' }]] },
      { kind: 'quote', text: [{ kind: 'text', text: 'careful' }] },
      { kind: 'code', language: 'ts', code: 'const x = 1;\n\nx++;' },
      { kind: 'paragraph', text: [{ kind: 'text', text: 'after' }] },
    ]);
  });

  it('reads code spans, emphasis and links inline, and leaves what is not closed as text', () => {
    expect(parseInline('use `npm ci`, **not** *npm i* or __that__, see [docs](https://example.com/x)')).toEqual([
      { kind: 'text', text: 'use ' },
      { kind: 'code', text: 'npm ci' },
      { kind: 'text', text: ', ' },
      { kind: 'strong', text: 'not' },
      { kind: 'text', text: ' ' },
      { kind: 'em', text: 'npm i' },
      { kind: 'text', text: ' or ' },
      { kind: 'strong', text: 'that' },
      { kind: 'text', text: ', see ' },
      { kind: 'link', text: 'docs', url: 'https://example.com/x' },
    ]);
    expect(parseInline('a **half-written')).toEqual([{ kind: 'text', text: 'a **half-written' }]);
    expect(parseInline('<img src=x onerror=alert(1)>')).toEqual([
      { kind: 'text', text: '<img src=x onerror=alert(1)>' },
    ]);
  });

  it('runs a fence still open (the answer still streaming) to the end', () => {
    expect(parseMarkdown('Here:\n```\nline 1\nline 2')).toEqual([
      { kind: 'paragraph', text: [{ kind: 'text', text: 'Here:' }] },
      { kind: 'code', language: '', code: 'line 1\nline 2' },
    ]);
  });
});
