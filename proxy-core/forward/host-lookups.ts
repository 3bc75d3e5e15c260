import dns from 'node:dns';
import type { LookupAddress, LookupOptions } from 'node:dns';
import type { Socket } from 'node:net';
import { now } from '../clock.js';

/** What Node's `dns.lookup` answers: one address and its family, or all of them (`all: true`). */
type LookupAnswer = [err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number];
type LookupCallback = (...answer: LookupAnswer) => void;
/** The shape of `dns.lookup` that `net.connect`'s `lookup` option calls. */
export type Lookup = (hostname: string, options: LookupOptions, callback: LookupCallback) => void;

/**
 * How long a host's addresses are used again without asking the resolver. A browser keeps them
 * a minute, but the resolver gives no TTL here and developers edit /etc/hosts while they debug:
 * long enough for a page's burst of connections, short enough that an edit shows at once.
 */
export const HOST_LOOKUP_TTL_MS = 10_000;

/** Hosts remembered at most; the oldest goes first. */
const MAX_HOSTS = 1_000;

interface Entry {
  /** When the answer came (`now()`); -1 while the resolver is still asked. */
  at: number;
  answer: LookupAnswer | undefined;
  waiters: LookupCallback[];
}

/**
 * Upstream host lookups, shared and kept for a moment. Through a proxy the client does not resolve
 * the host, Sluice does, for every connection it opens upstream: `getaddrinfo` on libuv's four
 * threads, which a burst of connections (a page opening many streams at once; 1,000 SSE clients)
 * queue behind one another and behind the capture's file writes. Concurrent lookups of one host
 * now share one question, and its answer serves the next HOST_LOOKUP_TTL_MS. Failures are not
 * kept, and a host whose address could not be connected to is asked again next time.
 */
export class HostLookups {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly resolve: Lookup = dns.lookup as unknown as Lookup,
    private readonly ttlMs = HOST_LOOKUP_TTL_MS,
  ) {}

  /** For `net.connect({ lookup })` and `tls.connect({ lookup })`. */
  readonly lookup: Lookup = (hostname, options, callback) => {
    const key = keyOf(hostname, options);
    const entry = this.entries.get(key);
    if (entry?.answer && now() - entry.at < this.ttlMs) {
      const answer = copyOf(entry.answer);
      process.nextTick(() => callback(...answer));
      return;
    }
    if (entry && entry.at < 0) {
      entry.waiters.push(callback);
      return;
    }
    const asked: Entry = { at: -1, answer: undefined, waiters: [callback] };
    this.remember(key, asked);
    this.resolve(hostname, options, (...answer: LookupAnswer) => {
      const current = this.entries.get(key) === asked;
      if (answer[0]) {
        if (current) this.entries.delete(key);
      } else {
        asked.at = now();
        asked.answer = answer;
      }
      const { waiters } = asked;
      asked.waiters = [];
      for (const waiter of waiters) waiter(...copyOf(answer));
    });
  };

  /** The addresses of `hostname` may be stale (a connection to one failed): ask again next time. */
  forget(hostname: string): void {
    const prefix = `${hostname}\n`;
    for (const [key, entry] of this.entries) {
      if (key.startsWith(prefix) && entry.at >= 0) this.entries.delete(key);
    }
  }

  /** Forgets `host` when `socket` fails before it connected (refused, unreachable, timed out). */
  forgetIfUnreached(socket: Socket, host: string): void {
    let connected = false;
    socket.once('connect', () => (connected = true));
    socket.once('error', () => {
      if (!connected) this.forget(host);
    });
  }

  clear(): void {
    this.entries.clear();
  }

  private remember(key: string, entry: Entry): void {
    this.entries.delete(key);
    this.entries.set(key, entry);
    if (this.entries.size > MAX_HOSTS) this.entries.delete(this.entries.keys().next().value as string);
  }
}

/** One entry per host and per way of asking: `net` asks for all addresses when it races families. */
function keyOf(hostname: string, options: LookupOptions): string {
  const order = options.order ?? (options.verbatim === undefined ? '' : String(options.verbatim));
  return `${hostname}\n${options.family ?? 0}\n${options.hints ?? 0}\n${options.all ? 1 : 0}\n${order}`;
}

/** Each caller gets its own address list: `net` may reorder the one it is given. */
function copyOf(answer: LookupAnswer): LookupAnswer {
  const [err, address, family] = answer;
  return [err, Array.isArray(address) ? address.map((a) => ({ ...a })) : address, family];
}
