/**
 * Where vendor calls may connect (SPEC F10.3, its connect-time half). The URL rules of
 * domain/outbound-url.ts judge what an admin typed; this judges the address a host name resolves
 * to, at the moment of connecting, so a DNS name that points at the metadata service (or is made
 * to, after it was checked) never gets a connection. Link-local and cloud metadata addresses are
 * refused always; loopback and private networks too in production.
 */
import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions, type LookupOneOptions } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import { Agent, fetch as undiciFetch } from 'undici';

export interface OutboundAddressPolicy {
  /** Loopback and private networks (RFC 1918, CGNAT, IPv6 ULA): allowed in development, where the simulators run on localhost. */
  allowPrivate: boolean;
}

/** A connection the policy refused: the host resolved (or is) an address vendor calls must not reach. */
export class OutboundAddressError extends Error {
  override readonly name = 'OutboundAddressError';
  readonly host: string;
  readonly address: string;

  constructor(host: string, address: string, reason: string) {
    super(host === address ? `${address} is ${reason}` : `${host} resolves to ${address}, ${reason}`);
    this.host = host;
    this.address = address;
  }
}

function blockList(rules: [string, number, 'ipv4' | 'ipv6'][]): BlockList {
  const list = new BlockList();
  for (const [network, prefix, family] of rules) list.addSubnet(network, prefix, family);
  return list;
}

const LINK_LOCAL = blockList([['169.254.0.0', 16, 'ipv4'], ['fe80::', 10, 'ipv6']]);
/** Metadata services outside link-local: Alibaba Cloud, AWS over IPv6. */
const METADATA = new Set(['100.100.100.200', 'fd00:ec2::254']);
const UNSPECIFIED = blockList([['0.0.0.0', 8, 'ipv4'], ['::', 128, 'ipv6']]);
const PRIVATE = blockList([
  ['127.0.0.0', 8, 'ipv4'],
  ['10.0.0.0', 8, 'ipv4'],
  ['172.16.0.0', 12, 'ipv4'],
  ['192.168.0.0', 16, 'ipv4'],
  ['100.64.0.0', 10, 'ipv4'],
  ['::1', 128, 'ipv6'],
  ['fc00::', 7, 'ipv6'],
]);

/** Why a connection to `address` is refused under `policy`, or null when it may go ahead. */
export function outboundAddressProblem(address: string, policy: OutboundAddressPolicy): string | null {
  let host = address.replace(/^\[|\]$/g, '').toLowerCase();
  // An IPv4 address written as IPv6 (::ffff:169.254.169.254) is the IPv4 address.
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(host);
  if (mapped) host = mapped[1]!;
  const family = isIP(host);
  if (family === 0) return null;
  const type = family === 4 ? 'ipv4' : 'ipv6';
  if (METADATA.has(host) || host === '169.254.169.254') return 'a cloud metadata address';
  if (LINK_LOCAL.check(host, type)) return 'a link-local address';
  if (UNSPECIFIED.check(host, type)) return 'an unspecified address';
  if (!policy.allowPrivate && PRIVATE.check(host, type)) return 'a loopback or private address, refused in production';
  return null;
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;
export type Lookup = (hostname: string, options: LookupAllOptions, callback: (error: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void) => void;

const systemLookup: Lookup = (hostname, options, callback) => dnsLookup(hostname, options, callback);

/**
 * A `lookup` for sockets that resolves every address of the name and refuses the name when any of
 * them is refused (so a name with one public and one metadata address cannot be raced).
 */
export function guardedLookup(policy: OutboundAddressPolicy, resolve: Lookup = systemLookup) {
  return (hostname: string, options: LookupOneOptions | LookupAllOptions, callback: LookupCallback): void => {
    resolve(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, []);
      for (const { address } of addresses) {
        const problem = outboundAddressProblem(address, policy);
        if (problem) return callback(Object.assign(new OutboundAddressError(hostname, address, problem), { code: 'EOUTBOUNDREFUSED' }), []);
      }
      if (options.all) return callback(null, addresses);
      const [first] = addresses;
      if (!first) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), []);
      return callback(null, first.address, first.family);
    });
  };
}

/**
 * `fetch` whose connections go through the policy: names are checked as they resolve, addresses
 * written in the URL before anything is sent. `resolve` replaces DNS (tests resolve names offline).
 */
export function guardedFetch(policy: OutboundAddressPolicy, resolve?: Lookup): typeof fetch {
  const dispatcher = new Agent({ connect: { lookup: guardedLookup(policy, resolve) } });
  return (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(input instanceof Request ? input.url : input);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const problem = outboundAddressProblem(host, policy);
    if (problem) throw new TypeError('fetch failed', { cause: new OutboundAddressError(host, host, problem) });
    return undiciFetch(url, { ...(init as object), dispatcher }) as unknown as Response;
  }) as typeof fetch;
}

let processPolicy: OutboundAddressPolicy = { allowPrivate: true };
let processFetch: typeof fetch | undefined;

/** Set once at start from the configuration (production refuses private addresses too). */
export function setOutboundAddressPolicy(policy: OutboundAddressPolicy): void {
  processPolicy = policy;
  processFetch = undefined;
}

/** The fetch every vendor client uses unless it is given one. */
export function outboundFetch(): typeof fetch {
  processFetch ??= guardedFetch(processPolicy);
  return processFetch;
}
