import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { EventBatch, HostEvent } from '../../app/contract.js';
import type { ExchangeOpenedEvent } from '../../app/proxy-events.js';
import { SluiceHost } from '../../main/host/sluice-host.js';
import { useCleanup } from '../helpers/cleanup.js';

const { defer, freshDir } = useCleanup();
const CHROME = join(import.meta.dirname, '..', 'fixtures', 'har', 'chrome');

const openedIn = (events: readonly HostEvent[]): ExchangeOpenedEvent[] =>
  events.filter((e): e is ExchangeOpenedEvent => e.type === 'exchange-opened');

/** What a window that connects now is told: the log's replay. */
function replayOf(host: SluiceHost): Promise<HostEvent[]> {
  return new Promise((resolve) => {
    const stop = host.openFeed({
      ready: () => true,
      send: (batch: EventBatch) => {
        stop();
        resolve([...batch.events]);
      },
    });
  });
}

describe('imported files', () => {
  it('each imported exchange carries its file name, and the file can be removed whole, bodies and all', async () => {
    const host = await SluiceHost.create({ dataDir: await freshDir() });
    defer(() => host.close());
    const events: HostEvent[] = [];
    host.subscribe((e) => events.push(e));
    await host.call('har.import', { path: join(CHROME, 'response-json.har') });
    await host.call('har.import', { path: join(CHROME, 'response-cookies.har') });
    const json = openedIn(events).filter((e) => e.importedFrom === 'response-json.har');
    const cookies = openedIn(events).filter((e) => e.importedFrom === 'response-cookies.har');
    expect(json.length).toBeGreaterThan(0);
    expect(cookies.length).toBeGreaterThan(0);
    expect(json.length + cookies.length).toBe(openedIn(events).length);
    const someId = json[0]!.id;
    expect(await host.call('body.read', { id: someId, direction: 'response' })).not.toBeNull();

    const reply = await host.call('exchanges.remove', { ids: json.map((e) => e.id) });
    expect(reply).toEqual({ removed: json.length });
    expect(events.at(-1)).toMatchObject({ type: 'exchanges-removed', ids: json.map((e) => e.id) });
    // Gone for windows that connect later, and their bodies with them; the other file stays.
    const replay = openedIn(await replayOf(host));
    expect(replay.map((e) => e.importedFrom)).toEqual(cookies.map(() => 'response-cookies.har'));
    expect(await host.call('body.read', { id: someId, direction: 'response' })).toBeNull();
    await expect(host.call('exchanges.remove', { ids: 'all' as unknown as number[] })).rejects.toThrow(/numeric ids/);
  });
});
