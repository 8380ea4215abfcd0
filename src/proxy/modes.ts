/** The proxy modes (`--mode`): kept apart from server.ts so the CLI can name them without loading the proxy. */
export const PROXY_MODES = ['iptables', 'nftables', 'userspace'] as const;
export type ProxyMode = (typeof PROXY_MODES)[number];
