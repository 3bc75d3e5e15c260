import { describe, expect, it } from 'vitest';
import type { RequestHead } from '../../app/proxy-events.js';
import { parseEditedHead, requestHeadText } from '../../app/request-edit.js';

const original: RequestHead = {
  method: 'POST',
  url: 'https://api.example.com:8443/v1/chat?stream=true',
  httpVersion: '2',
  headers: [
    [':method', 'POST'],
    [':path', '/v1/chat?stream=true'],
    ['content-type', 'application/json'],
    ['authorization', 'Bearer one'],
  ],
};

describe('a held request head, edited', () => {
  it('is shown as a request line and fields, pseudo-headers left to the request line', () => {
    expect(requestHeadText(original)).toBe(
      'POST https://api.example.com:8443/v1/chat?stream=true HTTP/2\n' +
        'content-type: application/json\nauthorization: Bearer one\n',
    );
  });

  it('reads back the method, the path and query, and the fields as the user left them', () => {
    const text = requestHeadText(original)
      .replace('POST https://api.example.com:8443/v1/chat?stream=true', 'PUT /v2/chat')
      .replace('Bearer one', 'Bearer two');
    expect(parseEditedHead(`${text}x-extra:  padded \n\n`, original)).toEqual({
      method: 'PUT',
      path: '/v2/chat',
      headers: [
        ['content-type', 'application/json'],
        ['authorization', 'Bearer two'],
        ['x-extra', 'padded'],
      ],
    });
    expect(parseEditedHead('GET https://api.example.com:8443/x?y=1', original)).toMatchObject({ path: '/x?y=1' });
  });

  it('says why an edit cannot go: another origin, a broken request line or field', () => {
    expect(parseEditedHead('GET https://other.example.com/x HTTP/1.1', original)).toBe(
      'the URL must keep https://api.example.com:8443: where the request goes cannot change',
    );
    expect(parseEditedHead('GET', original)).toBe('its first line is not "METHOD URL HTTP/version"');
    expect(parseEditedHead('G(T /x', original)).toBe('"G(T" is not a method');
    expect(parseEditedHead('GET /x\nno colon here', original)).toBe('line 2 is not "name: value"');
  });
});
