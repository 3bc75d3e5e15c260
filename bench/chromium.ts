/**
 * How Debian's Chromium is started for the e2e tests (playwright.config.ts) and the UI benchmark:
 * Playwright's own browser download cannot run on these machines, and without the network flags
 * Chromium keeps trying to reach Google's services through a closed network.
 */
export const CHROMIUM_PATH = process.env.SLUICE_CHROMIUM ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS: readonly string[] = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
];
