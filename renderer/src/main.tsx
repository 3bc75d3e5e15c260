import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './app/App.js';
import { importWithDialog } from './app/HarImport.js';
import { HostContext } from './app/host-context.js';
import { followHost } from './store/follow-host.js';
import { useSluice } from './store/store.js';
import { connectHost } from './transport/connect-host.js';
import './app/app.css';

const host = connectHost();
followHost(host, useSluice);
// The desktop app's menu: items that open the page's dialogs or act on the capture.
host.onMenu((action) => {
  const { openDialog } = useSluice.getState();
  if (action === 'har-export') openDialog('har-export');
  else if (action === 'ca-help') openDialog('ca-help');
  else if (action === 'har-import') void importWithDialog(host);
  else void host.call('capture.clear', {}).catch(() => undefined);
});

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root element');
createRoot(root).render(
  <StrictMode>
    <HostContext.Provider value={host}>
      <App onReconnect={() => location.reload()} />
    </HostContext.Provider>
  </StrictMode>,
);
