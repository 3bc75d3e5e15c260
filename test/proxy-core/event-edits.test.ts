import { describe, expect, it } from 'vitest';
import { parseStreamRules } from '../../app/stream-rules.js';
import { EventEditor, type ContentAction } from '../../proxy-core/rules/event-edits.js';

function editor(actions: unknown[], framing: 'sse' | 'lines' = 'sse') {
  const [rule] = parseStreamRules({ rules: [{ name: 'edit', actions }] });
  const said: string[] = [];
  const steps = rule!.actions.map((action) => ({ rule: 'edit', action: action as ContentAction }));
  const edit = new EventEditor(steps, framing, (_rule, _action, detail) => said.push(detail));
  // Notes ride on the events that go (told with their numbers as they leave); drops are told at once.
  const run = (text: string, index: number): string[] =>
    edit.edit(Buffer.from(text), index).map(({ bytes, notes }) => {
      said.push(...notes.map((note) => note.detail));
      return bytes.toString();
    });
  return { said, edit: run };
}

const chat = (n: number, content: string): string =>
  `id: ${n}\ndata: {"choices":[{"delta":{"content":"${content}"}}]}\n\n`;

describe('content rules on whole events', () => {
  it('drops, duplicates and injects around the events chosen by number or by text', () => {
    const { edit, said } = editor([
      { type: 'drop', event: 2 },
      { type: 'duplicate', where: 'again' },
      { type: 'inject', where: '/\\[DONE\\]/', position: 'before', data: 'data: {"injected":true}' },
    ]);
    expect(edit(chat(1, 'hi'), 1)).toEqual([chat(1, 'hi')]);
    expect(edit(chat(2, 'gone'), 2)).toEqual([]);
    expect(edit(chat(3, 'again'), 3)).toEqual([chat(3, 'again'), chat(3, 'again')]);
    expect(edit('data: [DONE]\n\n', 4)).toEqual(['data: {"injected":true}\n\n', 'data: [DONE]\n\n']);
    expect(said).toEqual(['dropped event 2', 'sent event 3 again', 'put in before event 4']);
  });

  it('rewrites text or a JSON field of an SSE event’s data, keeping its other fields and ending', () => {
    const replace = editor([{ type: 'rewrite', replace: { from: '/h(i)/g', to: 'H$1' } }]);
    expect(replace.edit(chat(1, 'hi hi'), 1)).toEqual([chat(1, 'Hi Hi')]);
    const set = editor([{ type: 'rewrite', event: 1, set: { path: 'choices.0.delta.content', value: 'changed' } }]);
    expect(
      set.edit('event: delta\r\nid: 7\r\ndata: {"choices":\r\ndata: [{"delta":{"content":"x"}}]}\r\n\r\n', 1),
    ).toEqual(['event: delta\nid: 7\ndata: {"choices":[{"delta":{"content":"changed"}}]}\r\n\r\n']);
    expect(set.edit('data: not json\n\n', 1)).toEqual(['data: not json\n\n']);
    expect(set.said).toEqual(['rewrote event 1', 'left event 1 as it was: its data is not JSON']);
  });

  it('edits NDJSON lines, and tears an event off mid-line when asked', () => {
    const lines = editor(
      [
        { type: 'rewrite', set: { path: 'done', value: false } },
        { type: 'inject', data: '{"extra":1}' },
      ],
      'lines',
    );
    expect(lines.edit('{"n":1,"done":true}\n', 1)).toEqual(['{"n":1,"done":false}\n', '{"extra":1}\n']);
    const torn = editor([{ type: 'corrupt', event: 1 }]);
    expect(torn.edit('data: 0123456789\n\n', 1)).toEqual(['data: 012']);
  });
});
