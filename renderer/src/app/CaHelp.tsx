import { useEffect, useRef, useState } from 'react';
import type { CaInfo } from '../../../app/contract.js';
import { Dialog } from './Dialog.js';
import { useHost } from './host-context.js';

/** The local CA: where its certificate is, and how to trust it on each system and in Firefox. */
export function CaHelp({ onClose }: { onClose: () => void }) {
  const host = useHost();
  const [info, setInfo] = useState<CaInfo | undefined>();
  const [error, setError] = useState<string | undefined>();
  const closeButton = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    host.call('ca.get', {}).then(setInfo, (err: unknown) => setError(String(err)));
    closeButton.current?.focus();
  }, [host]);

  return (
    <Dialog title="Trust Sluice's CA to inspect HTTPS" onClose={onClose}>
      {error && <p className="banner error">{error}</p>}
      {info && (
        <>
          <p>
            Certificate file: <code className="mono">{info.path}</code>
          </p>
          {info.trust.map((t) => (
            <section key={t.platform}>
              <h3>{t.title}</h3>
              <ol>
                {t.steps.map((step) => (
                  <li key={step}>
                    <code className="mono">{step}</code>
                  </li>
                ))}
              </ol>
            </section>
          ))}
          <details>
            <summary>Certificate (PEM)</summary>
            <pre>{info.certPem}</pre>
          </details>
        </>
      )}
      <button type="button" ref={closeButton} onClick={onClose}>
        Close
      </button>
    </Dialog>
  );
}
