import { describe, expect, it } from 'vitest';
import { mockKey, mockSpeedLabel, parseMockSpeed, playbackTimes } from '../../app/mocks.js';

describe('mock playback times', () => {
  it('keeps the recording at x1, halves every wait at x2 and drops them all as fast as possible', () => {
    expect(playbackTimes(40, [0, 120, 300], { speed: 1, jitterMs: 0 })).toEqual({ head: 40, pieces: [40, 160, 340] });
    expect(playbackTimes(40, [0, 120, 300], { speed: 2, jitterMs: 0 })).toEqual({ head: 20, pieces: [20, 80, 170] });
    expect(playbackTimes(40, [0, 120, 300], { speed: 0.5, jitterMs: 0 })).toEqual({
      head: 80,
      pieces: [80, 320, 680],
    });
    expect(playbackTimes(40, [0, 120, 300], { speed: 0, jitterMs: 0 })).toEqual({ head: 0, pieces: [0, 0, 0] });
  });

  it('moves each wait by the jitter drawn for it, never before the part ahead of it', () => {
    // random() 1 moves a wait +jitter, 0 moves it -jitter, 0.5 leaves it.
    const draws = [1, 0, 0.5, 0];
    const random = (): number => draws.shift()!;
    // head 40+10; piece 0: gap 0-10 → stays at 50; piece 1: 50+120; piece 2: 170+180-10.
    expect(playbackTimes(40, [0, 120, 300], { speed: 1, jitterMs: 10 }, random)).toEqual({
      head: 50,
      pieces: [50, 170, 340],
    });
  });
});

describe('mock keys and speeds', () => {
  it('matches the URL as a browser normalises it, with and without the query', () => {
    expect(mockKey('get', 'HTTPS://API.example.com:443/v1/x?a=1#f')).toBe('GET https://api.example.com/v1/x?a=1');
    expect(mockKey('GET', 'https://api.example.com/v1/x?a=1', false)).toBe('GET https://api.example.com/v1/x');
    expect(mockKey('GET', 'http://[::1]:8080/p')).toBe('GET http://[::1]:8080/p');
    expect(mockKey('GET', 'not a url')).toBeUndefined();
  });

  it('reads speeds as people write them', () => {
    expect(parseMockSpeed('x2')).toBe(2);
    expect(parseMockSpeed('0.5')).toBe(0.5);
    expect(parseMockSpeed('fast')).toBe(0);
    expect(parseMockSpeed('-1')).toBeUndefined();
    expect(parseMockSpeed('quick')).toBeUndefined();
    expect(mockSpeedLabel(0)).toBe('as fast as possible');
    expect(mockSpeedLabel(0.5)).toBe('x0.5');
  });
});
