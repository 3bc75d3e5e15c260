import { CaptureDb } from './capture-db.js';
import {
  ownsWholeBuffer,
  type OutgoingReply,
  type StoreCall,
  type StoreRequest,
  type StoreResult,
} from './store-protocol.js';
import { errorMessage } from '../../app/error-message.js';

/**
 * Answers a store's requests with a `CaptureDb`: what the worker thread runs for each message it
 * gets, and what the inline mode calls directly.
 */
export class StoreServer {
  private db: CaptureDb | undefined;

  receive(request: StoreRequest): OutgoingReply {
    if (request.kind === 'put') {
      try {
        this.opened().putRows(request.firstGeneration, request.rows, new Set(request.replacing));
        return { reply: { kind: 'put-done', batch: request.batch }, transfer: [] };
      } catch (error) {
        const message = `Could not write ${request.rows.length} exchanges to the capture store: ${errorMessage(error)}`;
        return { reply: { kind: 'put-failed', batch: request.batch, message }, transfer: [] };
      }
    }
    try {
      const transfer: ArrayBuffer[] = [];
      const result = this.answer(request.call, transfer);
      return { reply: { kind: 'result', seq: request.seq, result }, transfer };
    } catch (error) {
      return { reply: { kind: 'failed', seq: request.seq, message: errorMessage(error) }, transfer: [] };
    }
  }

  private answer(call: StoreCall, transfer: ArrayBuffer[]): StoreResult {
    switch (call.op) {
      case 'open': {
        if (this.db !== undefined) throw new Error('The capture store is already open');
        this.db = CaptureDb.open(call.path, { temporary: call.temporary, kept: call.kept });
        const ids = this.db.ids();
        transfer.push(ids.buffer as ArrayBuffer);
        return { ids, generation: this.db.maxGeneration() };
      }
      case 'keep':
        this.opened().keep(call.kept);
        return null;
      case 'page':
        return this.opened().page(call.query);
      case 'headers':
        return this.opened().headers(call.id, call.direction);
      case 'request':
        return this.opened().request(call.id);
      case 'messages-not-kept':
        return this.opened().messagesNotKept(call.id);
      case 'read-body': {
        const range = this.opened().readBody(call.id, call.direction, call.start, call.end);
        if (range !== undefined && ownsWholeBuffer(range.bytes)) transfer.push(range.bytes.buffer as ArrayBuffer);
        return range;
      }
      case 'remove':
        return this.opened().remove(call.ids);
      case 'clear':
        this.opened().clear();
        return null;
      case 'close': {
        const db = this.db;
        this.db = undefined;
        db?.close();
        return null;
      }
    }
  }

  private opened(): CaptureDb {
    if (this.db === undefined) throw new Error('The capture store is not open');
    return this.db;
  }
}
