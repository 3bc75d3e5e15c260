import { describe, expect, it } from 'vitest';
import { fetchViaProxy } from '../helpers/client.js';
import { SCHEMES, useRig } from '../helpers/schemes.js';

// 70 s of silence is the point of this test, so it runs in CI (CI=true) or when asked for.
const slow = process.env['CI'] === 'true' || process.env['SLUICE_SLOW_TESTS'] === '1';
const SILENCE_MS = 70_000;

describe.skipIf(!slow).each(SCHEMES)('a stream silent for 70 s over %s, default timeouts', (scheme) => {
  const rig = useRig(scheme, (_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/event-stream' });
    res.write('data: before the silence\n\n');
    setTimeout(() => res.end('data: after the silence\n\n'), SILENCE_MS);
  });

  it('reaches the client whole', { timeout: SILENCE_MS + 30_000 }, async () => {
    const res = await fetchViaProxy(rig.proxy.port, `${rig.upstream.url}/quiet`, { caPem: rig.proxy.caPem });
    expect(res.complete).toBe(true);
    expect(res.body.toString()).toBe('data: before the silence\n\ndata: after the silence\n\n');
    const closed = await rig.proxy.waitFor((e) => e.type === 'exchange-closed');
    expect(closed).toMatchObject({ outcome: 'completed' });
  });
});

if (!slow) {
  describe('a stream silent for 70 s', () => {
    it.skip('runs only with CI=true or SLUICE_SLOW_TESTS=1 (it takes 70 s)', () => undefined);
  });
}
