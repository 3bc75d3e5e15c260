import type http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import type { ConnectTimings } from '../../app/proxy-events.js';
import { adoptRawReads, RawReadAgent, RawReadHttpsAgent } from './raw-reads.js';

/** Set-up times of upstream sockets made before their first request (while answering CONNECT). */
const preconnectedTimings = new WeakMap<Duplex, ConnectTimings>();

/** The set-up times of a socket made ahead of its first request, once; later asks get undefined. */
export function takePreconnectedTimings(socket: Duplex): ConnectTimings | undefined {
  const timings = preconnectedTimings.get(socket);
  preconnectedTimings.delete(socket);
  return timings;
}

type AgentCallback = (err: Error | null, socket: Duplex) => void;

/**
 * The upstream connections of one client tunnel. The connection Sluice made while answering the
 * CONNECT serves the tunnel's first request; later ones are made when needed and kept alive; all
 * go when the tunnel closes. So a client connection has its own upstream connection, as it would
 * without a proxy in between.
 */
export function tunnelAgent(
  scheme: 'http' | 'https',
  /** The client side of the tunnel: when it closes, so do the agent's connections. */
  tunnel: Duplex,
  spare: Duplex | undefined,
  timings?: ConnectTimings,
): http.Agent {
  if (spare && timings) preconnectedTimings.set(spare, timings);
  // The spare was made over the connection that answered the CONNECT, without `onread`.
  if (spare instanceof net.Socket) adoptRawReads(spare);
  const options = { keepAlive: true, scheduling: 'lifo' as const };
  // Read raw, as the pool's connections are.
  const agent = scheme === 'https' ? new RawReadHttpsAgent(options) : new RawReadAgent(options);
  const base = (agent as unknown as { createConnection: (o: object, cb: AgentCallback) => Duplex | undefined })
    .createConnection;
  (agent as unknown as { createConnection: (o: object, cb: AgentCallback) => Duplex | undefined }).createConnection =
    function (this: http.Agent, connectOptions: object, callback: AgentCallback) {
      const ready = spare;
      spare = undefined;
      if (ready && !ready.destroyed && ready.writable) return ready;
      ready?.destroy();
      return base.call(this, connectOptions, callback);
    };
  // The agent knows only the sockets it handed out; one never asked for is ours to close.
  const destroy = agent.destroy.bind(agent);
  agent.destroy = () => {
    spare?.destroy();
    spare = undefined;
    destroy();
  };
  tunnel.once('close', () => agent.destroy());
  return agent;
}
