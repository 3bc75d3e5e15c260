import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { ExchangeOpenedEvent } from '../../app/proxy-events.js';
import { searchBodies } from '../../main/host/body-search.js';
import { fetchViaProxy } from '../helpers/client.js';
import { useCleanup } from '../helpers/cleanup.js';
import { runningHost } from '../helpers/running-host.js';
import { startServer } from '../helpers/servers.js';

const { defer, freshDir } = useCleanup();

describe('searching inside bodies', () => {
  it('finds a value only a gzip response body or only a request body holds, newest first', async () => {
    const { host, events, port } = await runningHost(await freshDir(), defer);
    const upstream = await startServer((req, res) => {
      req.resume();
      req.on('end', () => {
        if (req.url === '/chat') {
          res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' });
          res.end(gzipSync(JSON.stringify({ model: 'Gpt-Secret-Model-7', choices: [] })));
        } else {
          res.end('plain answer');
        }
      });
    });
    defer(() => upstream.close());
    await fetchViaProxy(port, `${upstream.url}/chat`);
    await fetchViaProxy(port, `${upstream.url}/upload`, { method: 'POST', body: '{"requestId":"req-81f3"}' });
    await fetchViaProxy(port, `${upstream.url}/other`);
    await expect.poll(() => events.filter((e) => e.type === 'exchange-closed').length).toBe(3);
    const idOf = (path: string): number =>
      events.find((e): e is ExchangeOpenedEvent => e.type === 'exchange-opened' && e.request.url.endsWith(path))!.id;

    // Case does not matter, and the gzip body is searched as the text it holds.
    expect(await host.call('bodies.search', { text: 'gpt-secret-model-7' })).toEqual({
      ids: [idOf('/chat')],
      searched: 3,
      complete: true,
    });
    expect((await host.call('bodies.search', { text: 'REQ-81F3' })).ids).toEqual([idOf('/upload')]);
    expect((await host.call('bodies.search', { text: 'answer' })).ids).toEqual([idOf('/other'), idOf('/upload')]);
    expect((await host.call('bodies.search', { text: 'nowhere' })).ids).toEqual([]);
  });

  it('stops at its time budget and says so, rather than keep the host busy', async () => {
    const slowRead = async (): Promise<undefined> => {
      await new Promise((r) => setTimeout(r, 5));
      return undefined;
    };
    const ids = Array.from({ length: 10_000 }, (_, i) => i);
    const reply = await searchBodies('x', ids, slowRead, { maxBytesPerBody: 1024, budgetMs: 100, maxMatches: 10 });
    expect(reply.complete).toBe(false);
    expect(reply.searched).toBeGreaterThan(0);
    expect(reply.searched).toBeLessThan(ids.length);
  });
});
