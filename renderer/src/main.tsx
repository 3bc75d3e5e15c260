import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './app/App.js';
import { importWithDialog } from './app/HarImport.js';
import { HostContext } from './app/host-context.js';
import { useSluice } from './store/store.js';
import { connectHost } from './transport/connect-host.js';
import './app/app.css';

const host = connectHost();
host.listen((batch) => useSluice.getState().receive(batch));
// The desktop app's menu: items that open the page's dialogs or act on the capture.
host.onMenu((action) => {
  const { openDialog } = useSluice.getState();
  if (action === 'har-export') openDialog('har-export');
  else if (action === 'ca-help') openDialog('ca-help');
  else if (action === 'har-import') void importWithDialog(host);
  else void host.call('capture.clear', {}).catch(() => undefined);
});
host.onConnection((state, detail) => {
  useSluice.getState().setConnection(state, detail);
  // The replayed log does not carry the states; status events keep them current after this.
  if (state === 'open') {
    host.call('proxy.status', {}).then(
      (status) => useSluice.getState().setStatus(status),
      () => undefined,
    );
    host.call('systemProxy.status', {}).then(
      (status) => useSluice.getState().setSystemProxy(status),
      () => undefined,
    );
  }
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
