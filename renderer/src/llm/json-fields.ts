/**
 * Reading the JSON of LLM APIs, whose fields may be anything: each getter gives the value only
 * when it has the expected type. Shared by the stream assembler and the request and answer readers.
 */

export type Json = Record<string, unknown>;

export function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** The array, or none for anything else. */
export function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}
