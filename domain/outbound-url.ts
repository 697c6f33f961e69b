import { isIPv4, isIPv6 } from 'node:net';

/** Hosts that answer with cloud credentials or instance data; a vendor URL must never point there. */
const METADATA_HOSTS = new Set(['metadata.google.internal', 'metadata', 'metadata.azure.com', '100.100.100.200', 'fd00:ec2::254']);

function isLinkLocal(host: string): boolean {
  if (isIPv4(host)) return host.startsWith('169.254.');
  if (isIPv6(host)) return /^fe[89ab][0-9a-f]:/i.test(host);
  return false;
}

export interface OutboundUrlPolicy {
  /** Production accepts https only; development also accepts http (the simulators). */
  requireHttps: boolean;
}

/** Returns why the URL may not be used for outbound vendor calls, or null when it may (SPEC F10.3). */
export function outboundUrlProblem(value: string, policy: OutboundUrlPolicy): string | null {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be an absolute URL such as https://example.com';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'must use https';
  if (policy.requireHttps && url.protocol !== 'https:') return 'must use https';
  if (url.username || url.password) return 'must not contain credentials';
  if (url.search || url.hash) return 'must not contain a query or fragment';
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (METADATA_HOSTS.has(host)) return 'must not point to a cloud metadata service';
  if (isLinkLocal(host)) return 'must not point to a link-local address';
  return null;
}
