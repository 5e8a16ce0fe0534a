import net from 'node:net';

/** One CIDR range of PROBE_DENY_CIDRS, as config.ts parses it. */
export interface Cidr {
  address: string;
  prefix: number;
  family: 4 | 6;
}

/** `a.b.c.d/n` or `x::y/n` → a Cidr; a bare address is a single host. Throws a message naming the entry. */
export function parseCidr(text: string): Cidr {
  const [address = '', bits] = text.trim().split('/');
  const family = net.isIP(address);
  if (family === 0) throw new Error(`"${text}" is not an IPv4/IPv6 address or CIDR range`);
  const max = family === 4 ? 32 : 128;
  const prefix = bits === undefined ? max : Number(bits);
  if (!/^\d{1,3}$/.test(bits ?? String(max)) || !Number.isInteger(prefix) || prefix < 0 || prefix > max) {
    throw new Error(`"${text}": the prefix length must be 0–${max}`);
  }
  return { address, prefix, family: family as 4 | 6 };
}

/** Hosts that name the machine itself by definition (RFC 6761), refused without a lookup. */
const LOOPBACK_NAME = /^(localhost|localhost\.localdomain|ip6-localhost|ip6-loopback)\.?$|\.localhost\.?$/i;
/**
 * A "hostname" whose last label is a number (`2852039166`, `0xa9fea9fe`, `169.254.43518`): the system resolver
 * reads such names as IPv4 addresses in legacy forms, which would slip past the ranges. No DNS name ends so.
 */
const NUMERIC_LAST_LABEL = /(^|\.)(0x[0-9a-f]*|\d+)\.?$/i;

/** PROBE_DENY_CIDRS as a matcher: which addresses and hosts probes may not target. */
export class AddressDenyList {
  private readonly list = new net.BlockList();

  constructor(readonly cidrs: readonly Cidr[]) {
    for (const c of cidrs) this.list.addSubnet(c.address, c.prefix, c.family === 4 ? 'ipv4' : 'ipv6');
  }

  /** True when an IP address lies in a denied range (IPv4-mapped IPv6 addresses count as their IPv4). */
  deniesAddress(ip: string): boolean {
    const family = net.isIP(ip);
    if (family === 0) return false;
    return this.list.check(ip, family === 4 ? 'ipv4' : 'ipv6');
  }

  /**
   * Why a point's endpoint host may not be probed, or null. IP literals are matched against the ranges;
   * names are checked here only for the forms that are addresses in disguise (a name that resolves into a
   * range is refused when it is probed, see probes/deny.ts).
   */
  hostProblem(host: string): string | null {
    if (net.isIP(host) !== 0) return this.deniesAddress(host) ? `${host} lies in a range probes may not target (PROBE_DENY_CIDRS)` : null;
    if (LOOPBACK_NAME.test(host) && this.deniesAddress('127.0.0.1')) return `${host} names this server itself (PROBE_DENY_CIDRS)`;
    if (NUMERIC_LAST_LABEL.test(host)) return 'write an IPv4 address as four decimal numbers (a.b.c.d) or use a DNS name';
    return null;
  }
}

const lists = new WeakMap<readonly Cidr[], AddressDenyList>();

/** The matcher of a parsed PROBE_DENY_CIDRS (built once per config). */
export function denyListOf(cidrs: readonly Cidr[]): AddressDenyList {
  let list = lists.get(cidrs);
  if (!list) {
    list = new AddressDenyList(cidrs);
    lists.set(cidrs, list);
  }
  return list;
}

