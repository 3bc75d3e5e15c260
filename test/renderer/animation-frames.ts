import { vi } from 'vitest';

/**
 * Animation frames the test runs by hand (Node has none), for the store, which applies what it
 * received one frame at a time. `vi.unstubAllGlobals()` takes the stand-in away again.
 */
export function animationFrames(): { readonly waiting: number; run(): void; runAll(): void } {
  const queued: FrameRequestCallback[] = [];
  vi.stubGlobal('requestAnimationFrame', (callback: FrameRequestCallback) => queued.push(callback));
  const run = (): void => {
    // Callbacks asked for during this frame belong to the next one, as in a browser.
    for (const callback of queued.splice(0)) callback(0);
  };
  return {
    get waiting() {
      return queued.length;
    },
    run,
    runAll() {
      for (let frames = 0; queued.length > 0; frames++) {
        if (frames > 1000) throw new Error('the store kept asking for frames');
        run();
      }
    },
  };
}
