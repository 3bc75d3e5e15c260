import { createContext, useContext } from 'react';
import type { HostClient } from '../transport/host-client.js';

export const HostContext = createContext<HostClient | undefined>(undefined);

export function useHost(): HostClient {
  const host = useContext(HostContext);
  if (!host) throw new Error('useHost needs a <HostContext.Provider>');
  return host;
}
