import { describe, expect, it } from 'vitest';
import type { HostEvent } from '../../app/contract.js';
import type { RuleAppliedEvent } from '../../app/proxy-events.js';
import { CommandError } from '../../main/host/request-checks.js';
import { SluiceHost } from '../../main/host/sluice-host.js';
import { fetchViaProxy } from '../helpers/client.js';
import { useCleanup } from '../helpers/cleanup.js';
import { startServer } from '../helpers/servers.js';

const { defer, freshDir } = useCleanup();

describe('the host’s stream rules', () => {
  it('checks, applies, counts and keeps the rules the UI sets, and tells every window', async () => {
    const dataDir = await freshDir();
    const host = await SluiceHost.create({ dataDir });
    const events: HostEvent[] = [];
    host.subscribe((e) => events.push(e));
    await host.call('proxy.setPort', { port: 0 });
    const { port } = await host.call('proxy.start', {});
    const upstream = await startServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      res.end('data: 1\n\ndata: 2\n\ndata: 3\n\n');
    });
    defer(() => upstream.close());

    expect(await host.call('rules.get', {})).toEqual({ revision: 0, rules: [], matched: [] });
    const refused = await host
      .call('rules.set', { rules: [{ name: 'x', actions: [{ type: 'end' }] }] })
      .catch((e) => e);
    expect(refused).toBeInstanceOf(CommandError);
    expect(refused).toMatchObject({
      code: 'bad-request',
      message: 'rules[0].actions[0]: needs afterEvents or afterBytes (0 for at once)',
    });

    const state = await host.call('rules.set', {
      rules: [
        { name: 'one event', match: { path: '/sse*' }, actions: [{ type: 'end', afterEvents: 1 }] },
        { name: 'never', match: { host: 'nowhere.test' }, actions: [{ type: 'latency', ms: 5 }] },
      ],
    });
    expect(state).toMatchObject({ revision: 1, matched: [0, 0] });
    expect(events.some((e) => e.type === 'rules-changed' && e.state.revision === 1)).toBe(true);
    const res = await fetchViaProxy(port, `${upstream.url}/sse`);
    expect(res.body.toString()).toBe('data: 1\n\n');
    expect((await host.call('rules.get', {})).matched).toEqual([1, 0]);
    expect(events.filter((e): e is RuleAppliedEvent => e.type === 'rule-applied').map((e) => e.action)).toEqual([
      'match',
      'end',
    ]);
    await host.close();

    // Kept in the settings: the next start has them in effect.
    const again = await SluiceHost.create({ dataDir });
    defer(() => again.close());
    expect((await again.call('rules.get', {})).rules.map((r) => r.name)).toEqual(['one event', 'never']);
  });

  it('holds a --rules file’s rules for the run only, until rules are saved from the UI', async () => {
    const dataDir = await freshDir();
    const host = await SluiceHost.create({ dataDir });
    defer(() => host.close());
    host.useRulesFile(
      [{ name: 'from file', enabled: true, match: {}, actions: [{ type: 'hang', afterEvents: 0 }] }],
      '/tmp/f.json',
    );
    expect(await host.call('rules.get', {})).toMatchObject({ file: '/tmp/f.json', rules: [{ name: 'from file' }] });
    expect((await host.call('settings.get', {})).rules).toEqual([]);
    const saved = await host.call('rules.set', { rules: [] });
    expect(saved.file).toBeUndefined();
  });
});
