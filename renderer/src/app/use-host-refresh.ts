import { useEffect } from 'react';
import type { CommandName, CommandReply, CommandRequest } from '../../../app/contract.js';
import { useHost } from './host-context.js';

/** The host's lists a dialog keeps current while open (their counts move with the traffic). */
type RefreshedList = Extract<CommandName, 'mocks.get' | 'rules.get'>;

/**
 * Asks the host for `command`'s list now and every `everyMs` while the calling component is
 * mounted, handing each answer to `set`. A failed ask is let go: the next one will tell.
 */
export function useHostRefresh<C extends RefreshedList>(
  command: C,
  set: (reply: CommandReply<C>) => void,
  everyMs: number,
): void {
  const host = useHost();
  useEffect(() => {
    const refresh = (): void => {
      host.call(command, {} as CommandRequest<C>).then(set, () => undefined);
    };
    refresh();
    const timer = setInterval(refresh, everyMs);
    return () => clearInterval(timer);
  }, [host, command, set, everyMs]);
}
