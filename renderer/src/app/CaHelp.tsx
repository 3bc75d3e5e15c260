import { useEffect, useRef, useState } from 'react';
import {
  OS_NAMES,
  osFromUserAgent,
  systemTrust,
  toolTrust,
  type DesktopOs,
  type SystemTrust,
  type TrustWay,
} from '../../../app/ca-trust.js';
import type { CaInfo } from '../../../app/contract.js';
import { CopyButton } from './CopyButton.js';
import { Dialog } from './Dialog.js';
import { useHost } from './host-context.js';
import { useSluice } from '../store/store.js';
import './ca-help.css';

/**
 * The local CA: where its certificate is, how to trust it on this system first, in the tools
 * developers run, in Firefox, and (folded away) on the other systems. The host serves this page on
 * 127.0.0.1 only, so the browser's OS is the host's.
 */
export function CaHelp({ onClose }: { onClose: () => void }) {
  const host = useHost();
  const [info, setInfo] = useState<CaInfo | undefined>();
  const [error, setError] = useState<string | undefined>();
  const closeButton = useRef<HTMLButtonElement>(null);
  const status = useSluice((s) => s.traffic.status);
  const proxy = status ? `http://${status.host}:${status.port}` : 'the proxy address';

  useEffect(() => {
    host.call('ca.get', {}).then(setInfo, (err: unknown) => setError(String(err)));
    closeButton.current?.focus();
  }, [host]);

  const os = osFromUserAgent(navigator.userAgent, navigator.platform);
  const systems = info ? systemTrust(info.path) : [];
  const mine = systems.find((s) => s.os === os);
  const firefox = systems.find((s) => s.os === 'firefox');
  const others = systems.filter((s) => s !== mine && s !== firefox);

  return (
    <Dialog title="Trust Sluice's CA to inspect HTTPS" onClose={onClose}>
      {error && <p className="banner error">{error}</p>}
      {info && (
        <div className="ca-help">
          <p className="ca-file">
            Certificate file: <code className="mono">{info.path}</code>
            <CopyButton text={info.path} label="Copy the certificate path" />
          </p>
          <p className="muted">Any one way under a heading is enough.</p>
          {mine && <SystemSection system={mine} heading={`${OS_NAMES[mine.os as DesktopOs]} (this computer)`} />}
          <section className="ca-section" data-testid="ca-tools">
            <h3>Command-line tools and languages</h3>
            <p className="muted">
              These keep their own list of CAs. Set the one you use in the shell that runs it
              {os === 'win32' ? ' (PowerShell)' : ''}, and point the tool at {proxy} (most read HTTPS_PROXY).
            </p>
            <WayList ways={toolTrust(info.path, os ?? 'linux')} />
          </section>
          {firefox && <SystemSection system={firefox} />}
          {others.length > 0 && (
            <details className="ca-others">
              <summary>{mine ? 'Other systems' : 'Each system'}</summary>
              {others.map((s) => (
                <SystemSection key={s.os} system={s} />
              ))}
            </details>
          )}
          <details>
            <summary>Certificate (PEM)</summary>
            <pre>{info.certPem}</pre>
            <CopyButton text={info.certPem}>Copy PEM</CopyButton>
          </details>
        </div>
      )}
      <button type="button" ref={closeButton} onClick={onClose}>
        Close
      </button>
    </Dialog>
  );
}

function SystemSection({ system, heading }: { system: SystemTrust; heading?: string }) {
  return (
    <section className="ca-section" data-testid="ca-system" data-os={system.os}>
      <h3>{heading ?? system.title}</h3>
      {heading && <p className="muted">{system.title}</p>}
      <WayList ways={system.ways} />
    </section>
  );
}

/** Alternatives, so a list without numbers; each command with its own copy button. */
function WayList({ ways }: { ways: readonly TrustWay[] }) {
  return (
    <ul className="ca-ways">
      {ways.map((way) => (
        <li key={way.label}>
          <span className="ca-way-label">{way.label}</span>
          {way.command ? (
            <span className="ca-command">
              <code className="mono">{way.command}</code>
              <CopyButton text={way.command} label={`Copy the command for ${way.label}`} />
            </span>
          ) : (
            <span> {way.text}</span>
          )}
          {way.note && <span className="ca-note muted">{way.note}</span>}
        </li>
      ))}
    </ul>
  );
}
