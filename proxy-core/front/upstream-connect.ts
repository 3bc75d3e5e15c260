import net from 'node:net';
import { now } from '../clock.js';
import { bracketHost, type Authority } from '../forward/connect-target.js';
import { gatewayStatus } from '../forward/exchange-base.js';
import type { HostLookups } from '../forward/host-lookups.js';

/** A TCP connection to the upstream, made before the client is told its CONNECT succeeded. */
export interface ConnectedUpstream {
  readonly socket: net.Socket;
  /** ms; -1 when the host was an address (no lookup). */
  readonly dnsMs: number;
  readonly connectMs: number;
}

/** Why the upstream could not be reached, with the status a proxy answers for it. */
export class UpstreamConnectError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }

  get status(): 502 | 504 {
    return gatewayStatus(this.code);
  }
}

/**
 * Connects to `authority`, giving up after `timeoutMs` or when `cancelled` is aborted (the
 * client went away). The socket comes back connected, paused, with half-close allowed (raw
 * tunnels keep it) and Nagle off. The host is looked up through `lookups`, and forgotten there
 * when it could not be reached.
 */
export function connectUpstream(
  authority: Authority,
  timeoutMs: number,
  cancelled: AbortSignal,
  lookups: HostLookups,
): Promise<ConnectedUpstream> {
  const target = `${bracketHost(authority.host)}:${authority.port}`;
  return new Promise((resolve, reject) => {
    let mark = now();
    let dnsMs = -1;
    const socket = net.connect({
      host: authority.host,
      port: authority.port,
      allowHalfOpen: true,
      lookup: lookups.lookup,
    });
    socket.setNoDelay(true);
    const fail = (error: UpstreamConnectError): void => {
      cleanup();
      socket.destroy();
      reject(error);
    };
    const onLookup = (): void => {
      const at = now();
      dnsMs = at - mark;
      mark = at;
    };
    const onConnect = (): void => {
      cleanup();
      // Until its consumer attaches its own, an error must not go unheard (that would throw).
      socket.on('error', noop);
      socket.pause();
      resolve({ socket, dnsMs, connectMs: now() - mark });
    };
    const onError = (err: NodeJS.ErrnoException): void => {
      lookups.forget(authority.host);
      fail(new UpstreamConnectError(err.code ?? 'ERROR', `could not connect to ${target}: ${err.message}`));
    };
    const onCancel = (): void => {
      fail(new UpstreamConnectError('client-closed', 'the client went away while Sluice was connecting'));
    };
    const timer = setTimeout(() => {
      lookups.forget(authority.host);
      fail(
        new UpstreamConnectError(
          'upstream-connect-timeout',
          `could not connect to ${target}: no answer after ${timeoutMs / 1000} s`,
        ),
      );
    }, timeoutMs);
    const cleanup = (): void => {
      clearTimeout(timer);
      socket.off('lookup', onLookup);
      socket.off('connect', onConnect);
      socket.off('error', onError);
      cancelled.removeEventListener('abort', onCancel);
    };
    socket.once('lookup', onLookup);
    socket.once('connect', onConnect);
    socket.once('error', onError);
    if (cancelled.aborted) onCancel();
    else cancelled.addEventListener('abort', onCancel, { once: true });
  });
}

function noop(): void {}
