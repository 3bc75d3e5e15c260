import type { Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { createParser, type EventSourceParser } from 'eventsource-parser';
import type { CaptureLimitReason, ProxyEvent } from '../../app/proxy-events.js';
import { readBuffers } from '../read-buffers.js';

/** The responses this parses; defined in app/ so the renderer decides the same. */
export { isEventStream } from '../../app/http-headers.js';

/** Decoded bytes waiting in a decompressor before we stop parsing rather than buffer more. */
const MAX_DECODER_BACKLOG = 4 << 20;

/**
 * Parses a `text/event-stream` response into events as its chunks flush, decoding
 * gzip/deflate/br on the side. Each event is stamped with the read time of the chunk that
 * completed it and the range of chunks its bytes came in.
 */
export class SseTracker {
  private readonly parser: EventSourceParser;
  private readonly text = new TextDecoder('utf-8');
  private readonly decoder: Transform | undefined;
  private count = 0;
  /** First chunk holding bytes of the event being assembled. */
  private pendingFrom = 0;
  private currentIndex = 0;
  private currentReadAt = 0;
  private stopped = false;

  constructor(
    private readonly exchangeId: number,
    contentEncoding: string | undefined,
    private readonly emit: (event: ProxyEvent) => void,
    private readonly onLimited: (reason: CaptureLimitReason) => void,
  ) {
    this.parser = createParser({
      onEvent: (e) => {
        this.emit({
          type: 'sse-event',
          id: this.exchangeId,
          index: this.count++,
          eventId: e.id,
          event: e.event,
          data: e.data,
          t: this.currentReadAt,
          chunkRange: [Math.min(this.pendingFrom, this.currentIndex), this.currentIndex],
        });
        this.pendingFrom = this.currentIndex;
      },
      onRetry: (retryMs) => {
        this.emit({ type: 'sse-retry', id: this.exchangeId, t: this.currentReadAt, retryMs });
      },
    });
    this.decoder = createDecoder(contentEncoding);
    if (this.decoder) {
      this.decoder.on('data', (decoded: Buffer) => this.feed(decoded));
      this.decoder.on('error', () => this.stop('decode-failed'));
    }
  }

  onChunk(chunk: Buffer, index: number, readAt: number): void {
    if (this.stopped) return;
    this.currentIndex = index;
    this.currentReadAt = readAt;
    if (!this.decoder) {
      this.feed(chunk);
      return;
    }
    if (this.decoder.writableLength > MAX_DECODER_BACKLOG) {
      this.stop('decode-failed');
      return;
    }
    // The decoder works on its input later: bytes of a lent read buffer must be its own copy.
    this.decoder.write(readBuffers.held(chunk) ? Buffer.from(chunk) : chunk);
  }

  end(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.decoder?.end();
  }

  private feed(bytes: Buffer): void {
    const text = this.text.decode(bytes, { stream: true });
    this.parser.feed(text);
    // A chunk that ends on a blank line leaves nothing of the next event in it.
    if (/(\r\n|\r|\n)(\r\n|\r|\n)$/.test(text)) this.pendingFrom = this.currentIndex + 1;
  }

  private stop(reason: CaptureLimitReason): void {
    if (this.stopped) return;
    this.stopped = true;
    this.decoder?.destroy();
    this.onLimited(reason);
  }
}

function createDecoder(contentEncoding: string | undefined): Transform | undefined {
  switch (contentEncoding?.trim().toLowerCase()) {
    case 'gzip':
    case 'x-gzip':
      return createGunzip();
    case 'deflate':
      return createInflate();
    case 'br':
      return createBrotliDecompress();
    default:
      return undefined;
  }
}
