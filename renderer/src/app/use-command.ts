import { useCallback } from 'react';
import { addNotice } from '../store/apply-event.js';
import { useSluice } from '../store/store.js';
import { hostNow } from '../store/host-clock.js';
import { errorMessage } from '../../../app/error-message.js';

/** Runs a command for a button; a failure becomes a notice the user can read, never a silent no-op. */
export function useCommand(): (action: () => Promise<unknown>) => void {
  return useCallback((action) => {
    action().catch((err: unknown) => {
      const state = useSluice.getState();
      addNotice(state.traffic, {
        t: hostNow(),
        level: 'error',
        message: errorMessage(err),
      });
      useSluice.setState({ tick: state.tick + 1 });
    });
  }, []);
}
