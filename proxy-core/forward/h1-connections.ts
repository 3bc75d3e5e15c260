import net from 'node:net';
import type { Duplex } from 'node:stream';
import type { ConnectTimings } from '../../app/proxy-events.js';
import { adoptRawReads } from './raw-reads.js';

/**
 * How long a kept-alive upstream connection may sit unused before Sluice closes it. Below the idle
 * limits of common servers that announce none (nginx 75 s, load balancers 60 s): a connection the
 * server is closing at that very moment would take the next request, and an upload already under
 * way cannot be sent again.
 */
export const UPSTREAM_IDLE_KEEP_MS = 15_000;

/**
 * Let go of a connection this long before the server said it would (`Keep-Alive: timeout=N`), as
 * Node's agent does: the server's clock started when it sent the response, ours when we read it.
 */
const KEEP_ALIVE_MARGIN_MS = 1_000;

/** One upstream HTTP/1.1 connection of ours: a plain or TLS socket, read raw (raw-reads.ts). */
export class H1Connection {
  /** Requests this connection carried before the current one: a reused one may have gone stale. */
  served = 0;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly socket: Duplex & { ref?(): unknown; unref?(): unknown },
    /** Set-up times of a connection made ahead of its first request (answering a CONNECT), taken once. */
    private made: ConnectTimings | undefined,
  ) {}

  get reused(): boolean {
    return this.served > 0;
  }

  /** Set-up times measured before this connection's first request, once; later asks get undefined. */
  takeMadeTimings(): ConnectTimings | undefined {
    const made = this.made;
    this.made = undefined;
    return made;
  }

  /** Waiting in a pool: anything the server sends or a close means it cannot take a request. */
  park(ms: number, lost: () => void): void {
    this.socket.on('data', lost);
    this.socket.on('end', lost);
    this.socket.on('close', lost);
    this.socket.on('error', lost);
    this.idleTimer = setTimeout(lost, ms);
    this.idleTimer.unref();
    // An idle connection does not keep the process alive (Node's agent does the same).
    this.socket.unref?.();
  }

  unpark(lost: () => void): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    this.socket.off('data', lost);
    this.socket.off('end', lost);
    this.socket.off('close', lost);
    this.socket.off('error', lost);
    this.socket.ref?.();
  }
}

/** How long to keep a connection whose response said `Keep-Alive: <hint>`; 0 when not at all. */
export function keepAliveMs(hint: string | undefined): number {
  const seconds = hint === undefined ? undefined : /(?:^|[,;\s])timeout\s*=\s*(\d+)/i.exec(hint)?.[1];
  if (seconds === undefined) return UPSTREAM_IDLE_KEEP_MS;
  return Math.max(0, Math.min(UPSTREAM_IDLE_KEEP_MS, Number(seconds) * 1000 - KEEP_ALIVE_MARGIN_MS));
}

interface Parked {
  readonly connection: H1Connection;
  readonly lost: () => void;
}

/**
 * Kept-alive HTTP/1.1 connections to upstreams, by destination key, the most recently used taken
 * first (the others then time out and close). Every connection made through it is known to it,
 * busy or parked, so `destroy` ends them all.
 */
export class H1Connections {
  private readonly parked = new Map<string, Parked[]>();
  private readonly all = new Set<H1Connection>();
  private destroyed = false;

  /**
   * The upstream connections of one client tunnel (all to its one destination, key ''). The
   * connection Sluice made while answering the CONNECT serves the tunnel's first request; later
   * ones are made when needed and kept alive; all go when the tunnel closes. So a client
   * connection has its own upstream connection, as it would without a proxy in between.
   */
  static forTunnel(tunnel: Duplex, spare: Duplex | undefined, made: ConnectTimings | undefined): H1Connections {
    const connections = new H1Connections();
    if (spare) {
      // The spare was made over the connection that answered the CONNECT, without `onread`.
      if (spare instanceof net.Socket) adoptRawReads(spare);
      connections.park('', connections.adopt(spare, made), UPSTREAM_IDLE_KEEP_MS);
    }
    tunnel.once('close', () => connections.destroy());
    return connections;
  }

  /** A parked connection to `key`, else a new one from `connect`; `fresh` skips the parked ones. */
  take(key: string, connect: () => Duplex, fresh = false): H1Connection {
    if (!fresh) {
      const list = this.parked.get(key);
      while (list && list.length > 0) {
        const { connection, lost } = list.pop()!;
        connection.unpark(lost);
        if (!connection.socket.destroyed && connection.socket.writable) return connection;
        this.forget(connection);
      }
    }
    return this.adopt(connect());
  }

  /** Takes in a connection made elsewhere (a CONNECT's upstream), with the times it took to make. */
  adopt(socket: Duplex, made?: ConnectTimings): H1Connection {
    const connection = new H1Connection(socket, made);
    if (this.destroyed) {
      socket.destroy();
      return connection;
    }
    this.all.add(connection);
    // A request listens for errors while it holds the connection; between requests none may crash us.
    socket.on('error', noop);
    socket.once('close', () => this.forget(connection));
    return connection;
  }

  /** The connection is free to take a request, for `ms` of idleness at most. */
  park(key: string, connection: H1Connection, ms: number): void {
    if (ms <= 0 || this.destroyed || connection.socket.destroyed) {
      connection.socket.destroy();
      return;
    }
    const lost = (): void => {
      this.unlist(key, lost);
      connection.unpark(lost);
      connection.socket.destroy();
    };
    connection.park(ms, lost);
    let list = this.parked.get(key);
    if (!list) this.parked.set(key, (list = []));
    list.push({ connection, lost });
  }

  /** Parked connections now, for tests and the bench. */
  get parkedCount(): number {
    let count = 0;
    for (const list of this.parked.values()) count += list.length;
    return count;
  }

  destroy(): void {
    this.destroyed = true;
    for (const connection of this.all) connection.socket.destroy();
    this.all.clear();
    this.parked.clear();
  }

  private unlist(key: string, lost: () => void): void {
    const list = this.parked.get(key);
    const at = list?.findIndex((p) => p.lost === lost) ?? -1;
    if (at >= 0) list!.splice(at, 1);
    if (list?.length === 0) this.parked.delete(key);
  }

  private forget(connection: H1Connection): void {
    this.all.delete(connection);
  }
}

function noop(): void {}
