import { describe, expect, it } from 'vitest';
import {
  formatString,
  formatValue,
  GVariantParseError,
  parseBoolean,
  parseInt32,
  parseString,
  parseStringArray,
} from '../../main/system-proxy/gsettings.js';

describe('GVariant text', () => {
  it('round-trips strings with quotes, backslashes and control characters', () => {
    for (const s of ['', 'plain', "it's", 'say "hi"', 'back\\slash', 'mix \'" \\ end', 'tab\there\nline', 'ünï €']) {
      expect(parseString(formatString(s))).toBe(s);
    }
    expect(formatString("a'b\\c")).toBe("'a\\'b\\\\c'");
  });

  it('reads the double-quoted form GLib prints for strings containing a single quote', () => {
    expect(parseString(`"a'b"`)).toBe("a'b");
    expect(parseString(`'x"y\\\\z'`)).toBe('x"y\\z');
    expect(parseString(`'\\u00e9'`)).toBe('é');
  });

  it('round-trips string arrays, including the typed empty form', () => {
    for (const a of [[], ['localhost'], ['localhost', '127.0.0.0/8', '::1'], ["a'b", 'c,d', ' ]x[ ']]) {
      expect(parseStringArray(formatValue(a))).toEqual(a);
    }
    expect(formatValue([])).toBe('@as []');
    expect(parseStringArray('@as []')).toEqual([]);
    expect(parseStringArray('[]')).toEqual([]);
    expect(parseStringArray(`["a'b", 'c']`)).toEqual(["a'b", 'c']);
  });

  it('reads and writes integers and booleans', () => {
    expect(parseInt32('8080')).toBe(8080);
    expect(parseInt32('uint32 5')).toBe(5);
    expect(formatValue(0)).toBe('0');
    expect(parseBoolean('true')).toBe(true);
    expect(parseBoolean(formatValue(false))).toBe(false);
  });

  it('refuses malformed text instead of guessing', () => {
    expect(() => parseString("'unterminated")).toThrow(GVariantParseError);
    expect(() => parseString("'a' trailing")).toThrow(GVariantParseError);
    expect(() => parseStringArray("['a' 'b']")).toThrow(GVariantParseError);
    expect(() => parseInt32('12x')).toThrow(GVariantParseError);
    expect(() => parseBoolean('yes')).toThrow(GVariantParseError);
    expect(() => formatValue(1.5)).toThrow(GVariantParseError);
  });
});
