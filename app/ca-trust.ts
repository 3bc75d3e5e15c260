/**
 * How to trust Sluice's CA: per system, in Firefox, and in the tools this audience runs (Node,
 * Python, curl, git, Java, gRPC), each with the CA's real path in it. Pure: the host gives the
 * contract's plain-text `TrustInstructions` from it, the renderer the dialog with copy buttons.
 */
import { shellQuote } from './copy-as.js';

export type DesktopOs = 'linux' | 'darwin' | 'win32';

/** One way to do it: a command to copy, or words to follow; `label` says for whom or what. */
export interface TrustWay {
  readonly label: string;
  readonly command?: string;
  readonly text?: string;
  /** A caution or a detail, shown under it. */
  readonly note?: string;
}

export interface SystemTrust {
  readonly os: DesktopOs | 'firefox';
  readonly title: string;
  /** Alternatives, not steps: one of them is enough (unless a way's label says "also"). */
  readonly ways: readonly TrustWay[];
}

export const OS_NAMES: Readonly<Record<DesktopOs, string>> = { linux: 'Linux', darwin: 'macOS', win32: 'Windows' };

/** The system store per OS, then Firefox (its own store on every OS), in this order. */
export function systemTrust(caPath: string): SystemTrust[] {
  const posix = shellQuote(caPath);
  const windows = `"${caPath}"`;
  return [
    {
      os: 'darwin',
      title: 'macOS (Safari, Chrome, curl, most apps)',
      ways: [
        {
          label: 'In a terminal',
          command: `sudo security add-trusted-cert -d -r trustRoot -k /Library/Keychains/System.keychain ${posix}`,
        },
        {
          label: 'Or in Keychain Access',
          text: 'Open the file, find "Sluice Local CA", and set "When using this certificate" to "Always Trust".',
        },
      ],
    },
    {
      os: 'win32',
      title: 'Windows (Edge, Chrome, most apps)',
      ways: [
        { label: 'In a terminal', command: `certutil -user -addstore Root ${windows}` },
        {
          label: 'Or in Explorer',
          text: 'Double-click the file, choose "Install Certificate", "Current User", and place it in "Trusted Root Certification Authorities".',
        },
      ],
    },
    {
      os: 'linux',
      title: 'Linux (system tools; Chrome and Chromium through NSS)',
      ways: [
        {
          label: 'Debian, Ubuntu',
          command: `sudo cp ${posix} /usr/local/share/ca-certificates/sluice.crt && sudo update-ca-certificates`,
        },
        {
          label: 'Fedora, RHEL',
          command: `sudo cp ${posix} /etc/pki/ca-trust/source/anchors/sluice.pem && sudo update-ca-trust`,
        },
        { label: 'Arch', command: `sudo trust anchor --store ${posix}` },
        {
          label: 'Also, for Chrome and Chromium (their own NSS store)',
          command: `certutil -d sql:$HOME/.pki/nssdb -A -t "C,," -n Sluice -i ${posix}`,
          note: 'certutil is in libnss3-tools (Debian, Ubuntu) or nss-tools (Fedora).',
        },
      ],
    },
    {
      os: 'firefox',
      title: 'Firefox (any OS: it keeps its own certificate store)',
      ways: [
        {
          label: 'In Firefox',
          text: `Settings → Privacy & Security → Certificates → View Certificates → Authorities → Import…, choose ${caPath} and tick "Trust this CA to identify websites".`,
        },
        {
          label: 'Or, on Windows and macOS',
          text: 'Set security.enterprise_roots.enabled to true in about:config: Firefox then uses the system store.',
        },
      ],
    },
  ];
}

/**
 * Per-tool settings, written for the shell of `os` (PowerShell on Windows). Most of them replace
 * the tool's own CA list, which is right while its traffic goes through Sluice.
 */
export function toolTrust(caPath: string, os: DesktopOs): TrustWay[] {
  const win = os === 'win32';
  const path = win ? `"${caPath}"` : shellQuote(caPath);
  const env = (name: string): string => (win ? `$env:${name} = ${path}` : `export ${name}=${path}`);
  const replaces = 'Replaces the default list: unset it when not going through Sluice.';
  return [
    { label: 'Node.js', command: env('NODE_EXTRA_CA_CERTS'), note: 'Adds to Node’s own CAs; read when Node starts.' },
    {
      label: 'Python requests',
      command: env('REQUESTS_CA_BUNDLE'),
      note: replaces,
    },
    {
      label: 'Python urllib, ssl, aiohttp (OpenSSL defaults)',
      command: env('SSL_CERT_FILE'),
      note: `${replaces} Ruby and Go (on Linux) read it too.`,
    },
    { label: 'curl', command: `${win ? 'curl.exe' : 'curl'} --cacert ${path} https://example.com/` },
    {
      label: 'git',
      command: `git config --global http.sslCAInfo ${path}`,
      note: `Replaces git's list of CAs; git config --global --unset http.sslCAInfo undoes it. For one shell: ${env('GIT_SSL_CAINFO')} (it wins over the setting).`,
    },
    {
      label: 'Java (JDK 9 or later)',
      command: `${win ? '' : 'sudo '}keytool -importcert -noprompt -cacerts -storepass changeit -alias sluice -file ${path}`,
      note: 'Into the JDK’s own cacerts (changeit is its default password); Java reads no system store here.',
    },
    {
      label: 'gRPC (C core: Python, C++, Ruby; and grpc-js)',
      command: env('GRPC_DEFAULT_SSL_ROOTS_FILE_PATH'),
      note: replaces,
    },
  ];
}

/**
 * The desktop OS a browser runs on, from its user agent and `navigator.platform`; undefined when
 * neither says (the page is then shown to a host on the same machine: 127.0.0.1 only).
 */
export function osFromUserAgent(userAgent: string, platform = ''): DesktopOs | undefined {
  const both = `${platform} ${userAgent}`;
  if (/Win/i.test(both)) return 'win32';
  if (/Mac|iPhone|iPad/i.test(both)) return 'darwin';
  if (/Linux|X11|CrOS|BSD/i.test(both)) return 'linux';
  return undefined;
}

/** A way as one line of text, for the contract's plain steps. */
export function wayText(way: TrustWay): string {
  const what = way.command ? `run: ${way.command}` : (way.text ?? '');
  return `${way.label}: ${what}${way.note ? ` (${way.note})` : ''}`;
}
