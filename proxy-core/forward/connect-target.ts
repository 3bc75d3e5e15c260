/** A `host:port` authority as sent in CONNECT or a Host header; IPv6 in brackets. */
export interface Authority {
  readonly host: string;
  readonly port: number;
}

export function parseAuthority(text: string, defaultPort?: number): Authority | undefined {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s/[\]]+))(?::(\d{1,5}))?$/.exec(text.trim());
  if (!match) return undefined;
  const host = match[1] ?? match[2];
  const port = match[3] !== undefined ? Number(match[3]) : defaultPort;
  if (host === undefined || port === undefined || port < 1 || port > 65535) return undefined;
  return { host, port };
}

/** A host as it goes before `:port` in a URL or authority: IPv6 addresses in brackets. */
export function bracketHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** Host patterns: `example.com` matches itself, `*.example.com` its subdomains. */
export function matchesHost(host: string, patterns: readonly string[]): boolean {
  const name = host.toLowerCase();
  return patterns.some((pattern) => {
    const p = pattern.toLowerCase();
    return p.startsWith('*.') ? name.endsWith(p.slice(1)) : name === p;
  });
}
