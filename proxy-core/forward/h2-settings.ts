import type { Http2Session, Settings } from 'node:http2';

/**
 * Flow-control windows Sluice offers on both its legs. A stream's window bounds what a paused
 * stream (a slow reader) can leave waiting in the proxy; Node consumes the connection window as
 * DATA arrives, so one paused stream never holds up the others on its connection. It also caps a
 * stream's speed at one window per round trip: 1 MiB lets a download from a server 50 ms away
 * reach ~20 MB/s (256 KiB held it to 5 MB/s, where the client alone, with curl's or Chrome's
 * windows of several MiB, is not held back); the proxy also sends a quarter of the WINDOW_UPDATEs.
 */
export const H2_STREAM_WINDOW = 1 << 20;
/** The connection window we open at once: many streams at line rate without waiting on updates. */
export const H2_CONNECTION_WINDOW = 32 << 20;

export const H2_SETTINGS: Settings = {
  initialWindowSize: H2_STREAM_WINDOW,
  // No RFC 8441 extended CONNECT: browsers then open WebSockets over HTTP/1.1, which we bridge.
  enableConnectProtocol: false,
  enablePush: false,
};

/**
 * Node's cap on what one session may hold (streams, header tables, data queued to send), in MB.
 * Its default of 10 refuses new streams (ENHANCE_YOUR_CALM) once ~100 concurrent streams each
 * have a window's worth queued; the windows above bound what each stream can queue, so this
 * only needs to be above their sum for the concurrency we expect.
 */
export const H2_MAX_SESSION_MEMORY_MB = 512;

/** Opens a session's connection window to H2_CONNECTION_WINDOW (a session setting, not a SETTINGS value). */
export function widenConnectionWindow(session: Http2Session): void {
  const widen = (): void => {
    try {
      session.setLocalWindowSize(H2_CONNECTION_WINDOW);
    } catch {
      // A session already closing has no window to widen.
    }
  };
  if (session.connecting) session.once('connect', widen);
  else widen();
}
