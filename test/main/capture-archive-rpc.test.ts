import { describe, expect, it } from 'vitest';
import type { HostEvent } from '../../app/contract.js';
import type { RpcMessageEvent } from '../../app/proxy-events.js';
import { CaptureArchive } from '../../main/host/capture-archive.js';
import { openRunStore } from '../../main/host/run-store.js';
import { useCleanup } from '../helpers/cleanup.js';
import { rpcCall, rpcMessage, rpcOpened, rpcStatus } from './rpc-events.js';

const { defer, freshDir } = useCleanup();

/** Bodies are not the point here: none are captured. */
const noBodies = { read: () => Promise.resolve(undefined), readHeld: () => undefined, forget: () => undefined };

async function openArchive(dir: string): Promise<CaptureArchive> {
  const problems: string[] = [];
  const runStore = await openRunStore(dir, true, (message) => problems.push(message));
  if (!runStore.store) throw new Error(runStore.problem);
  expect(problems).toEqual([]);
  return new CaptureArchive(runStore, noBodies, { maxMessagesPerExchange: 4 });
}

async function everything(archive: CaptureArchive): Promise<HostEvent[]> {
  const all: HostEvent[] = [];
  for await (const page of archive.history()) all.push(...page);
  return all;
}

describe('the capture archive and RPC calls', () => {
  it('stores a finished call’s messages, status and notes, and a kept capture gives them back', async () => {
    const dir = await freshDir();
    const first = await openArchive(dir);
    const call = rpcCall(1);
    const open = [rpcOpened(2), rpcMessage(2, 0), rpcStatus(2)];
    // Past the cap of 4 messages, two of call 1's are not kept; where the first was, a note says so.
    const firstNotKept = call.find((e): e is RpcMessageEvent => e.type === 'rpc-message' && e.index >= 2);
    const note = expect.objectContaining({
      type: 'capture-limited',
      reason: 'message-cap',
      t: firstNotKept?.t,
      direction: firstNotKept?.direction,
    }) as HostEvent;
    const kept = call.flatMap((e) =>
      e.type !== 'rpc-message' || e.index < 2 ? [e] : e === firstNotKept ? [note] : [],
    );
    for (const event of [...call, ...open]) first.append(event);
    // Call 1 is on its way to disk, call 2 (still open) stays in memory: a window sees both once.
    expect(await everything(first)).toEqual([...kept, ...open]);
    // Closing waits for the move under way; only finished exchanges are kept.
    await first.close(true);

    const again = await openArchive(dir);
    defer(() => again.close(false));
    expect(await everything(again)).toEqual(kept);
    const exported = [];
    for await (const exchange of again.exchanges()) exported.push(exchange);
    expect(exported[0]!.rpcMessages).toHaveLength(4);
    expect(exported[0]!.rpcStatus).toEqual(rpcStatus(1, { t: 1099.875 }));
  });
});
