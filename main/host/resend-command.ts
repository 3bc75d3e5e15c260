import { displayId } from '../../app/contract.js';
import { parseEditedHead } from '../../app/request-edit.js';
import type { HostEvent } from '../../app/contract.js';
import type { ResendRequest, SluiceProxy } from '../../proxy-core/index.js';
import type { CaptureArchive } from './capture-archive.js';
import { CommandError } from './request-checks.js';

export interface ResendAsk {
  readonly id: number;
  readonly head?: string | undefined;
  readonly body?: string | undefined;
}

/**
 * `exchange.resend`: a kept request, as captured or as the user edited it, sent again through
 * the proxy (see `SluiceProxy.resend`). Every reason it cannot go is said in words.
 */
export async function resendExchange(
  archive: Pick<CaptureArchive, 'eventsOf' | 'readBody'>,
  proxy: Pick<SluiceProxy, 'resend'>,
  ask: ResendAsk,
): Promise<{ id: number }> {
  const name = `exchange ${displayId(ask.id)}`;
  const events: readonly HostEvent[] = (await archive.eventsOf(ask.id)) ?? [];
  const opened = events.find((e) => e.type === 'exchange-opened');
  if (!opened || opened.type !== 'exchange-opened') throw refusal(`${name} is not kept any more`);
  if (opened.kind === 'websocket') throw refusal(`${name} is a WebSocket: Sluice does not send upgrades again`);
  if (opened.kind === 'tunnel') throw refusal(`${name} is a tunnel Sluice did not read: it has no request to send`);
  const original = opened.request;
  let request: ResendRequest = { ...original };
  if (ask.head !== undefined) {
    const edited = parseEditedHead(ask.head, original);
    if (typeof edited === 'string') throw refusal(`the edited request cannot go: ${edited}`);
    const url = new URL(original.url);
    request = {
      ...request,
      method: edited.method,
      url: `${url.origin}${edited.path}`,
      headers: edited.headers,
    };
  }
  request = {
    ...request,
    body: ask.body !== undefined ? Buffer.from(ask.body, 'utf8') : await keptBody(archive, ask.id),
  };
  try {
    return { id: await proxy.resend(request, ask.id) };
  } catch (err) {
    throw refusal(`${name} could not be sent again: ${(err as Error).message}`);
  }
}

/** The request body as forwarded, or why it cannot be sent again as it was. */
async function keptBody(archive: Pick<CaptureArchive, 'readBody'>, id: number): Promise<Buffer | undefined> {
  const range = await archive.readBody(id, 'request');
  if (!range || range.bytes.length === 0) return undefined;
  if (range.limited) {
    throw refusal(`its request body was not kept whole (${range.limited}): edit the request to give the body to send`);
  }
  return range.bytes;
}

function refusal(message: string): CommandError {
  return new CommandError(message, 'bad-request');
}
