/**
 * Entry of the host's utility process (`utilityProcess.fork` from the main process): the proxy
 * core, the capture and the settings live here, so line-rate traffic never occupies the main
 * process, whose event loop is also the app's UI thread. docs/adr/0002-host-in-utility-process.md.
 */
import { defaultDataDir } from '../data-dir.js';
import { fromMessagePortMain, type MessagePortMainLike } from '../host/port-server.js';
import { SluiceHost } from '../host/sluice-host.js';
import { runHostService, type FromHostProcess, type ParentLink } from './host-service.js';
import { dataDirArg } from './shell-options.js';

/** Electron's `process.parentPort`, typed here so this file needs no Electron import. */
interface ParentPort {
  on(event: 'message', listener: (event: { data: unknown; ports: MessagePortMainLike[] }) => void): unknown;
  postMessage(message: FromHostProcess): void;
}

const parentPort = (process as unknown as { parentPort?: ParentPort }).parentPort;
if (!parentPort) {
  process.stderr.write('sluice: host-process.js runs inside the Electron app (utilityProcess.fork)\n');
  process.exit(2);
}

let deliver: ((message: unknown) => void) | undefined;
const link: ParentLink = {
  onMessage: (listener) => {
    deliver = (message) => listener(message, undefined);
    parentPort.on('message', ({ data, ports }) => {
      const port = ports[0];
      listener(data, port ? fromMessagePortMain(port) : undefined);
    });
  },
  post: (message) => parentPort.postMessage(message),
};

// Ctrl-C in a terminal reaches this process too (one process group). The main process drives the
// quit, and its quit restores the user's system proxy through us: dying first would skip that.
process.on('SIGINT', () => undefined);
// Sent to this process alone (a session ending, a service manager): leave as on a quit, restoring.
for (const signal of ['SIGTERM', 'SIGHUP'] as const) process.on(signal, () => deliver?.({ kind: 'shutdown' }));

const dataDir = dataDirArg(process.argv) ?? defaultDataDir();
await runHostService({
  parent: link,
  createHost: () => SluiceHost.create({ dataDir }),
  exit: (code) => process.exit(code),
});
