import type { Duplex } from 'node:stream';

type Layer = Duplex & { _parent?: unknown; socket?: unknown; resetAndDestroy?: () => unknown };

/**
 * Cuts a client's connection with a TCP RST, as a crashed server or a middlebox would, once what
 * was written to it before has left: a RST throws away whatever the socket still holds.
 */
export function resetConnection(socket: Duplex | null | undefined): void {
  if (socket && !socket.destroyed) socket.write(Buffer.alloc(0), () => resetNow(socket));
  else resetNow(socket);
}

/**
 * An intercepted connection is TLS (or a replay of sniffed bytes) over the client's TCP socket,
 * and only that one can send a RST: the layers are walked down to it. Where none is found the
 * connection is destroyed (a FIN), which a client also sees as a cut.
 */
function resetNow(socket: Duplex | null | undefined): void {
  let layer = socket as Layer | undefined;
  for (let depth = 0; layer && depth < 4; depth++) {
    if (typeof layer.resetAndDestroy === 'function') {
      try {
        layer.resetAndDestroy();
        socket?.destroy();
        return;
      } catch {
        // Not a TCP handle (TLS over it): go down a layer.
      }
    }
    layer = (layer._parent ?? (layer as { socket?: unknown }).socket) as Layer | undefined;
  }
  socket?.destroy();
}
