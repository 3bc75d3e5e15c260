import { isAbsolute } from 'node:path';
import { isCommandName, type CommandName, type SchemaFile, type SystemProxyMode } from '../../app/contract.js';
import type { Direction } from '../../app/proxy-events.js';
import type { MockPlayback } from '../../app/mocks.js';
import type { HarExportOptions } from '../har/har-writer.js';

/**
 * The checks of what a command was sent. The contract types the requests, but a page or a
 * WebSocket client can send anything: every field is checked here before the host acts on it, and
 * a wrong one is answered with words saying what was expected.
 */
export class CommandError extends Error {
  constructor(
    message: string,
    readonly code: 'unknown-command' | 'bad-request',
  ) {
    super(message);
    this.name = 'CommandError';
  }
}

function badRequest(message: string): CommandError {
  return new CommandError(message, 'bad-request');
}

/** A known command with an object (or nothing) as its request. */
export function checkCall(command: unknown, request: unknown): asserts command is CommandName {
  if (!isCommandName(command)) {
    throw new CommandError(`unknown command ${JSON.stringify(command)}`, 'unknown-command');
  }
  if (request !== undefined && (typeof request !== 'object' || request === null)) {
    throw badRequest(`${command} takes an object`);
  }
}

export function checkBoolean(value: unknown, name: string): asserts value is boolean {
  if (typeof value !== 'boolean') throw badRequest(`${name} must be true or false`);
}

export function checkPort(port: unknown): asserts port is number {
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw badRequest(`port must be a whole number from 0 to 65535, not ${JSON.stringify(port)}`);
  }
}

export function checkSystemProxyMode(mode: unknown): asserts mode is SystemProxyMode | undefined {
  if (mode !== undefined && mode !== 'manual' && mode !== 'pac') {
    throw badRequest(`mode must be "manual" or "pac", not ${JSON.stringify(mode)}`);
  }
}

export function checkSearchText(text: unknown): asserts text is string {
  if (typeof text !== 'string') throw badRequest('bodies.search needs the text to look for');
}

export function checkRemovedIds(ids: unknown): asserts ids is number[] {
  if (!Array.isArray(ids) || !ids.every((id) => typeof id === 'number')) {
    throw badRequest('exchanges.remove needs a list of numeric ids');
  }
}

export interface BodyReadRequest {
  readonly id: number;
  readonly direction: Direction;
  readonly start: number | undefined;
  readonly end: number | undefined;
  readonly decoded: boolean;
}

export function checkBodyRead(request: Record<string, unknown>): BodyReadRequest {
  const { id, direction, start, end, decoded } = request;
  if (typeof id !== 'number' || (direction !== 'request' && direction !== 'response')) {
    throw badRequest('body.read needs a numeric id and a direction of "request" or "response"');
  }
  return { id, direction, start: byteOffset('start', start), end: byteOffset('end', end), decoded: decoded === true };
}

function byteOffset(name: string, value: unknown): number | undefined {
  if (value !== undefined && (typeof value !== 'number' || !Number.isInteger(value) || value < 0)) {
    throw badRequest(`body.read ${name} must be a whole number of bytes, not ${JSON.stringify(value)}`);
  }
  return value;
}

export function checkSchemaFiles(files: unknown): asserts files is SchemaFile[] {
  const valid =
    Array.isArray(files) &&
    files.every(
      (file: unknown) =>
        typeof file === 'object' &&
        file !== null &&
        typeof (file as SchemaFile).name === 'string' &&
        typeof (file as SchemaFile).data === 'string',
    );
  if (!valid) throw badRequest('files must be a list of {name, data (base64)}');
}

export function checkExchangeId(id: unknown): asserts id is number {
  if (typeof id !== 'number' || !Number.isInteger(id)) throw badRequest('id must be an exchange id');
}

export function checkSchemaSourceId(sourceId: unknown): asserts sourceId is number {
  if (typeof sourceId !== 'number') throw badRequest('sourceId must be a number');
}

export function checkImportPath(path: unknown): asserts path is string {
  if (typeof path !== 'string' || path === '') throw badRequest('har.import needs a file path');
}

/** The desktop app's export: where to, and what of the capture. */
export function checkHarExport(request: Record<string, unknown>): {
  path: string;
  options: HarExportOptions;
} {
  const { path, ids, redact, redactHeaders } = request;
  // Only ever a .har file: a page must not be able to overwrite anything else the user owns.
  if (typeof path !== 'string' || !isAbsolute(path) || !/\.har$/i.test(path)) {
    throw badRequest('har.export needs an absolute path to a .har file');
  }
  if (ids !== undefined && (!Array.isArray(ids) || !ids.every((id) => Number.isInteger(id)))) {
    throw badRequest('har.export ids must be a list of exchange ids');
  }
  if (
    redactHeaders !== undefined &&
    (!Array.isArray(redactHeaders) || !redactHeaders.every((h) => typeof h === 'string'))
  ) {
    throw badRequest('har.export redactHeaders must be a list of header names');
  }
  return {
    path,
    options: {
      ids: ids === undefined ? undefined : new Set(ids as number[]),
      redact: redact === true,
      redactHeaders: (redactHeaders as string[] | undefined) ?? [],
    },
  };
}

/** A decision on a held stream: which breakpoint, what to do, and the edited event's text if any. */
export function checkBreakpointDecision(request: { breakpoint: unknown; outcome: unknown; text?: unknown }): {
  breakpoint: number;
  outcome: 'released' | 'dropped' | 'released-all';
  text?: string;
} {
  const { breakpoint, outcome, text } = request;
  if (typeof breakpoint !== 'number' || !Number.isInteger(breakpoint) || breakpoint < 1) {
    throw badRequest('breakpoint.resolve needs the breakpoint number of a breakpoint-held event');
  }
  if (outcome !== 'released' && outcome !== 'dropped' && outcome !== 'released-all') {
    throw badRequest(`outcome must be "released", "dropped" or "released-all", not ${JSON.stringify(outcome)}`);
  }
  if (text !== undefined && typeof text !== 'string') throw badRequest('text, when given, is the edited event as text');
  if (text !== undefined && outcome !== 'released')
    throw badRequest('text goes with "released": the event as it should go');
  return { breakpoint, outcome, ...(text === undefined ? {} : { text }) };
}

export function checkIdList(ids: unknown, command: string): asserts ids is number[] {
  if (!Array.isArray(ids) || ids.length === 0 || !ids.every((id) => typeof id === 'number' && Number.isInteger(id))) {
    throw badRequest(`${command} needs a list of numeric ids`);
  }
}

export function checkMockPlayback(request: { speed?: unknown; jitterMs?: unknown }): MockPlayback {
  const { speed, jitterMs } = request;
  if (typeof speed !== 'number' || !Number.isFinite(speed) || speed < 0 || speed > 1000) {
    throw badRequest('speed must be a factor from 0 (as fast as possible) to 1000, e.g. 0.5 or 2');
  }
  if (typeof jitterMs !== 'number' || !Number.isFinite(jitterMs) || jitterMs < 0 || jitterMs > 60_000) {
    throw badRequest('jitterMs must be a number of ms from 0 to 60000');
  }
  return { speed, jitterMs };
}

export function checkOptionalText(value: unknown, name: string): asserts value is string | undefined {
  if (value !== undefined && typeof value !== 'string') throw badRequest(`${name} must be text`);
}
