/** Timeouts in ms. None is a deadline on a body: streams may run for as long as bytes move. */
export interface TimeoutOptions {
  /** Time a client has to send a complete request head (slow-loris guard). */
  readonly requestHeaderMs: number;
  /** No bytes in either direction of an exchange for this long closes it. Paused time excluded. */
  readonly idleMs: number;
  /** How long an idle keep-alive connection from a client stays open between requests. */
  readonly keepAliveIdleMs: number;
  /** TCP connect (and TLS handshake) to the upstream. */
  readonly upstreamConnectMs: number;
  /** From the request having been sent to the upstream's response head. */
  readonly responseHeaderMs: number;
  /**
   * After CONNECT, how long the client may stay silent before the tunnel is taken for a
   * server-first protocol and bridged raw. Not a limit on anything that moves.
   */
  readonly firstBytesAfterConnectMs?: number;
}

export interface CaptureOptions {
  /** Bytes of each body kept in memory before the rest goes to a spill file. */
  readonly memoryBytesPerBody: number;
  /** Bytes of each body captured at all; past this the capture is flagged truncated. */
  readonly maxBytesPerBody: number;
  /**
   * Memory for all body copies together; past it new bytes go straight to spill files. Kept small:
   * a hundred concurrent HTTP/2 streams would otherwise each keep a MiB in memory.
   */
  readonly totalMemoryBytes: number;
  /** Disk for all spill files together; past it captures are flagged truncated. */
  readonly totalSpillBytes: number;
  /**
   * Bytes waiting to reach spill files, all bodies together, past which a body's copy is dropped
   * rather than buffer more.
   */
  readonly maxSpillBacklogBytes: number;
  /** Folder for spill files; a private folder under the OS temp dir when not given. */
  readonly spillDir?: string | undefined;
}

export const DEFAULT_TIMEOUTS: TimeoutOptions = {
  requestHeaderMs: 30_000,
  idleMs: 600_000,
  keepAliveIdleMs: 60_000,
  upstreamConnectMs: 30_000,
  responseHeaderMs: 300_000,
};

export const DEFAULT_CAPTURE: CaptureOptions = {
  memoryBytesPerBody: 1 << 20,
  maxBytesPerBody: 64 << 20,
  totalMemoryBytes: 32 << 20,
  totalSpillBytes: 4 * 1024 ** 3,
  maxSpillBacklogBytes: 16 << 20,
};
