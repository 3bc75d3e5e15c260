import { describe, expect, it } from 'vitest';
import { fileLabels } from '../../renderer/src/app/file-labels.js';

describe('fileLabels', () => {
  it('names one file by its name without .har', () => {
    expect([...fileLabels(['session.HAR']).values()]).toEqual(['session']);
  });

  it('leaves out the start that files share, up to a separator, so cut badges still differ', () => {
    const labels = fileLabels(['mitmproxy-export-websocket.har', 'mitmproxy-export-event_stream.har']);
    expect(labels.get('mitmproxy-export-websocket.har')).toBe('…websocket');
    expect(labels.get('mitmproxy-export-event_stream.har')).toBe('…event_stream');
  });

  it('never cuts inside a word, and keeps something of a name that is all shared start', () => {
    const labels = fileLabels(['example.com.har', 'example.com (1).har']);
    expect(labels.get('example.com.har')).toBe('…com');
    expect(labels.get('example.com (1).har')).toBe('…com (1)');
    expect([...fileLabels(['api.har', 'apis.har']).values()]).toEqual(['api', 'apis']);
  });

  it('keeps a name that is only .har', () => {
    expect([...fileLabels(['.har', 'b.har']).values()]).toEqual(['.har', 'b']);
  });
});
