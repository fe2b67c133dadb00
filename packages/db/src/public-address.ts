import { promises as dns } from 'node:dns';
import net from 'node:net';

/**
 * Non-public address ranges by what they are, most specific first (the first match names the refusal).
 * IPv4 ranges also match their IPv4-mapped forms (`::ffff:10.0.0.1`: net.BlockList compares those as IPv4) and
 * their NAT64 forms (`64:ff9b::10.0.0.1`, added below), so no embedding reaches a private host.
 */
const RANGES: ReadonlyArray<{ what: string; v4?: readonly string[]; v6?: readonly string[] }> = [
  // AWS/GCP/Azure (169.254.169.254), Alibaba (100.100.100.200), Oracle (192.0.0.192), AWS IPv6 (fd00:ec2::254).
  { what: 'a cloud metadata address', v4: ['169.254.169.254/32', '100.100.100.200/32', '192.0.0.192/32'], v6: ['fd00:ec2::254/128'] },
  { what: 'an unspecified address', v4: ['0.0.0.0/8'], v6: ['::/128'] },
  { what: 'a loopback address', v4: ['127.0.0.0/8'], v6: ['::1/128'] },
  { what: 'a private address', v4: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'] },
  { what: 'a link-local address', v4: ['169.254.0.0/16'], v6: ['fe80::/10'] },
  { what: 'a shared (CGNAT) address', v4: ['100.64.0.0/10'] },
  { what: 'a unique local address', v6: ['fc00::/7', 'fec0::/10'] },
  { what: 'a multicast address', v4: ['224.0.0.0/4'], v6: ['ff00::/8'] },
  { what: 'the broadcast address', v4: ['255.255.255.255/32'] },
  { what: 'a documentation address', v4: ['192.0.2.0/24', '198.51.100.0/24', '203.0.113.0/24'], v6: ['2001:db8::/32', '3fff::/20'] },
  { what: 'a benchmarking address', v4: ['198.18.0.0/15'], v6: ['2001:2::/48'] },
  {
    what: 'a reserved or special-purpose address',
    v4: ['192.0.0.0/24', '192.88.99.0/24', '240.0.0.0/4'],
    // IPv4-compatible, discard-only, IETF assignments (Teredo among them), 6to4 (embeds any IPv4), local NAT64.
    v6: ['::/96', '100::/64', '2001::/23', '2002::/16', '64:ff9b:1::/48'],
  },
];

const NAT64 = '64:ff9b::';

interface Range {
  what: string;
  list: net.BlockList;
}

function cidr(text: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } {
  const [address = '', prefix] = text.split('/');
  const family = net.isIP(address) === 4 ? 'ipv4' : 'ipv6';
  return { address, prefix: prefix === undefined ? (family === 'ipv4' ? 32 : 128) : Number(prefix), family };
}

const ranges: Range[] = RANGES.map(({ what, v4 = [], v6 = [] }) => {
  const list = new net.BlockList();
  for (const text of v4) {
    const { address, prefix } = cidr(text);
    list.addSubnet(address, prefix, 'ipv4');
    list.addSubnet(`${NAT64}${address}`, 96 + prefix, 'ipv6');
  }
  for (const text of v6) {
    const { address, prefix } = cidr(text);
    list.addSubnet(address, prefix, 'ipv6');
  }
  return { what, list };
});

/** IPv6 outside these is not routable on the internet; NAT64 and mapped forms are judged by their IPv4 above. */
const routableV6 = new net.BlockList();
routableV6.addSubnet('2000::', 3, 'ipv6');
routableV6.addSubnet(NAT64, 96, 'ipv6');
routableV6.addSubnet('::ffff:0:0', 96, 'ipv6');

/** What makes `address` (an IP literal) non-public, e.g. "a private address"; undefined when it is public. */
export function nonPublicAddress(address: string): string | undefined {
  const family = net.isIP(address);
  if (family === 0) return 'not an IP address';
  const type = family === 4 ? 'ipv4' : 'ipv6';
  for (const range of ranges) if (range.list.check(address, type)) return range.what;
  if (type === 'ipv6' && !routableV6.check(address, 'ipv6')) return 'a reserved or special-purpose address';
  return undefined;
}

/**
 * Destinations a webhook may reach although they are not public (WEBHOOK_ALLOWED_HOSTS): host names as written in
 * the URL, IP addresses and CIDRs.
 */
export interface AddressAllowList {
  hosts: ReadonlySet<string>;
  addresses: net.BlockList;
}

/** The allow-list of WEBHOOK_ALLOWED_HOSTS entries (`localhost`, `127.0.0.1`, `10.1.0.0/16`, `::1`). @default empty */
export function addressAllowList(entries: readonly string[] = []): AddressAllowList {
  const hosts = new Set<string>();
  const addresses = new net.BlockList();
  for (const entry of entries) {
    const { address, prefix, family } = cidr(entry);
    if (net.isIP(address) === 0) hosts.add(entry.toLowerCase());
    else addresses.addSubnet(address, prefix, family);
  }
  return { hosts, addresses };
}

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** How a URL's host resolved: an address to connect to, or why not. */
export type HostCheck =
  | { ok: true; address: ResolvedAddress }
  /** `refused`: it resolves to a non-public address; `unresolved`: DNS gave no address (may change, so retryable). */
  | { ok: false; kind: 'refused' | 'unresolved'; reason: string };

/** Resolves every address of a host name (an IP literal resolves to itself); replaceable for tests of the policy. */
export type Resolver = (host: string) => Promise<ResolvedAddress[]>;

const systemResolver: Resolver = async (host) => {
  const found = await dns.lookup(host, { all: true, verbatim: true });
  return found.map(({ address, family }) => ({ address, family: family === 6 ? 6 : 4 }));
};

/**
 * Resolves `url`'s host once and checks every address: refused when any is non-public and neither the host name
 * nor that address is allow-listed. The caller connects to the returned address (not the name again), so a DNS
 * answer that changes between check and connect cannot redirect the request.
 */
export async function checkPublicHost(url: URL, allow: AddressAllowList, resolve: Resolver = systemResolver): Promise<HostCheck> {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  let addresses: ResolvedAddress[];
  try {
    addresses = await resolve(host);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    return {
      ok: false,
      kind: 'unresolved',
      reason: `the host ${host} does not resolve (${typeof code === 'string' ? code : String(error)})`,
    };
  }
  const first = addresses[0];
  if (first === undefined) return { ok: false, kind: 'unresolved', reason: `the host ${host} has no address` };
  if (allow.hosts.has(host)) return { ok: true, address: first };
  for (const { address, family } of addresses) {
    if (allow.addresses.check(address, family === 4 ? 'ipv4' : 'ipv6')) continue;
    const what = nonPublicAddress(address);
    if (what !== undefined) {
      const via = host === address ? '' : ` resolves to ${address}, which`;
      return {
        ok: false,
        kind: 'refused',
        reason: `the host ${host}${via} is ${what}; webhook URLs must resolve to public internet addresses only`,
      };
    }
  }
  return { ok: true, address: first };
}
