import type { TrustInstructions } from '../../app/contract.js';

/**
 * How to trust Sluice's CA, per system. Firefox keeps its own certificate store on every OS, so
 * it gets its own entry; command-line tools are covered per OS or by their own CA options.
 */
export function trustInstructions(caPath: string): TrustInstructions[] {
  return [
    {
      platform: 'darwin',
      title: 'macOS (Safari, Chrome, curl, most apps)',
      steps: [
        `Run: sudo security add-trusted-cert -d -r trustRoot -k /Library/Keychains/System.keychain "${caPath}"`,
        'Or open the file in Keychain Access, find "Sluice Local CA", and set "When using this certificate" to "Always Trust".',
      ],
    },
    {
      platform: 'win32',
      title: 'Windows (Edge, Chrome, most apps)',
      steps: [
        `Run: certutil -user -addstore Root "${caPath}"`,
        'Or double-click the file, choose "Install Certificate", "Current User", and place it in "Trusted Root Certification Authorities".',
      ],
    },
    {
      platform: 'linux',
      title: 'Linux (system tools; Chrome and Chromium through NSS)',
      steps: [
        `Debian/Ubuntu: sudo cp "${caPath}" /usr/local/share/ca-certificates/sluice.crt && sudo update-ca-certificates`,
        `Fedora: sudo cp "${caPath}" /etc/pki/ca-trust/source/anchors/sluice.pem && sudo update-ca-trust`,
        `Chrome/Chromium: certutil -d sql:$HOME/.pki/nssdb -A -t "C,," -n Sluice -i "${caPath}"`,
      ],
    },
    {
      platform: 'firefox',
      title: 'Firefox (any OS: it keeps its own certificate store)',
      steps: [
        'Settings → Privacy & Security → Certificates → View Certificates → Authorities → Import…',
        `Choose "${caPath}" and tick "Trust this CA to identify websites".`,
        'On Windows and macOS, setting security.enterprise_roots.enabled to true in about:config makes Firefox use the system store instead.',
      ],
    },
  ];
}
