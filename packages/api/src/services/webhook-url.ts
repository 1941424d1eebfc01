import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { isIP, isIPv4 } from 'node:net';

/**
 * Tenant webhook URLs (tollgate → tenant). SECURITY: a tenant chooses the URL and the gateway POSTs
 * to it, so the URL must not reach the gateway's own network (SSRF: 127.0.0.1, 10.x, the cloud
 * metadata service at 169.254.169.254, [::1], fc00::/7, …). Two layers:
 *
 * - `webhookUrlProblem` (submit, admin create/update, and again before each send): https only (http
 *   with `TENANT_WEBHOOK_ALLOW_HTTP`), no credentials, and no host that is `localhost` or an IP
 *   literal in a non-public range (`classifyAddress`);
 * - `guardedLookup` (each send): the DNS answer the socket actually connects to is checked, so a
 *   name that resolves to a private address — or resolves publicly at submit time and privately at
 *   delivery time (DNS rebinding) — is refused before any connection is made.
 *
 * `TENANT_WEBHOOK_ALLOW_PRIVATE` (dev, tests: local receivers; refused in production) turns both
 * private-address checks off.
 */
export type WebhookUrlPolicy = {
  /** Accept `http:` (dev, tests). */
  allowHttp: boolean;
  /** Accept destinations in private / loopback / link-local / … ranges (dev, tests). */
  allowPrivate: boolean;
};

/** Why this URL is not an acceptable webhook target, or null when it is. */
export function webhookUrlProblem(url: string, policy: WebhookUrlPolicy): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'is not a valid URL';
  }
  if (u.protocol !== 'https:' && !(policy.allowHttp && u.protocol === 'http:')) {
    return policy.allowHttp ? 'must be an https or http URL' : 'must be an https URL';
  }
  // No credentials: they would end up in logs and stored rows.
  if (u.username || u.password) return 'must not contain credentials';
  if (policy.allowPrivate) return null;
  const reason = privateHostReason(u.hostname);
  return reason === null ? null : `must reach a public address: ${reason}`;
}

/** Shorthand for `webhookUrlProblem(...) === null`. */
export function webhookUrlAllowed(url: string, policy: WebhookUrlPolicy): boolean {
  return webhookUrlProblem(url, policy) === null;
}

/**
 * Why a URL hostname (as `URL.hostname` gives it: IPv6 in brackets, IPv4 normalised to dotted
 * decimal) is a private destination without resolving it, or null. Names other than `localhost`
 * are checked when they are resolved, at delivery (`guardedLookup`).
 */
export function privateHostReason(hostname: string): string | null {
  const host = hostname.toLowerCase().replace(/\.$/, '');
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (bare === 'localhost' || bare.endsWith('.localhost')) return `host ${host} is loopback (localhost)`;
  if (isIP(bare) === 0) return null;
  const kind = classifyAddress(bare);
  return kind === null ? null : `host ${host} is ${kind}`;
}

type V4Range = { base: number; bits: number; kind: string };
type V6Range = { base: bigint; bits: number; kind: string };

// IANA IPv4 special-purpose registry, every block not globally reachable (plus multicast/broadcast).
const V4_RANGES: V4Range[] = [
  ['0.0.0.0', 8, 'unspecified ("this network", 0.0.0.0/8)'],
  ['10.0.0.0', 8, 'private (10.0.0.0/8, RFC 1918)'],
  ['100.64.0.0', 10, 'shared address space (100.64.0.0/10, carrier-grade NAT)'],
  ['127.0.0.0', 8, 'loopback (127.0.0.0/8)'],
  ['169.254.0.0', 16, 'link-local (169.254.0.0/16, cloud metadata)'],
  ['172.16.0.0', 12, 'private (172.16.0.0/12, RFC 1918)'],
  ['192.0.0.0', 24, 'reserved (192.0.0.0/24, IETF protocol assignments)'],
  ['192.0.2.0', 24, 'documentation (192.0.2.0/24)'],
  ['192.88.99.0', 24, 'reserved (192.88.99.0/24, 6to4 relay anycast)'],
  ['192.168.0.0', 16, 'private (192.168.0.0/16, RFC 1918)'],
  ['198.18.0.0', 15, 'benchmarking (198.18.0.0/15)'],
  ['198.51.100.0', 24, 'documentation (198.51.100.0/24)'],
  ['203.0.113.0', 24, 'documentation (203.0.113.0/24)'],
  ['224.0.0.0', 4, 'multicast (224.0.0.0/4)'],
  ['240.0.0.0', 4, 'reserved (240.0.0.0/4, broadcast included)'],
].map(([base, bits, kind]) => ({
  base: v4ToInt(base as string),
  bits: bits as number,
  kind: kind as string,
}));

// IPv6 blocks refused outright (the IPv4-embedding prefixes are handled in classifyAddress).
const V6_RANGES: V6Range[] = [
  ['64:ff9b:1::', 48, 'reserved (64:ff9b:1::/48, local-use NAT64)'],
  ['100::', 64, 'reserved (100::/64, discard-only)'],
  ['2001::', 32, 'reserved (2001::/32, Teredo)'],
  ['2001:2::', 48, 'benchmarking (2001:2::/48)'],
  ['2001:db8::', 32, 'documentation (2001:db8::/32)'],
  ['3fff::', 20, 'documentation (3fff::/20)'],
  ['5f00::', 16, 'reserved (5f00::/16, SRv6 SIDs)'],
  ['fc00::', 7, 'unique-local (fc00::/7)'],
  ['fe80::', 10, 'link-local (fe80::/10)'],
  ['fec0::', 10, 'site-local (fec0::/10, deprecated)'],
  ['ff00::', 8, 'multicast (ff00::/8)'],
].map(([base, bits, kind]) => ({
  base: v6ToBigInt(base as string),
  bits: bits as number,
  kind: kind as string,
}));

const GLOBAL_UNICAST_V6: V6Range = { base: v6ToBigInt('2000::'), bits: 3, kind: '' };

/**
 * What kind of non-public address `ip` is (e.g. "loopback (127.0.0.0/8)"), or null when it is a
 * public address a webhook may be sent to. Also null for something that is not an IP address at all:
 * callers check `isIP` first. IPv6 that embeds an IPv4 address (mapped `::ffff:a.b.c.d`, NAT64
 * `64:ff9b::/96`, 6to4 `2002::/16`) is judged by that IPv4 address; IPv6 outside 2000::/3 (the only
 * global unicast block allocated) is refused.
 */
export function classifyAddress(ip: string): string | null {
  const addr = ip.replace(/%.*$/, ''); // zone id (fe80::1%eth0)
  if (isIPv4(addr)) return classifyV4(v4ToInt(addr));
  if (isIP(addr) !== 6) return null;
  const v = v6ToBigInt(addr);
  if (v === 0n) return 'unspecified (::)';
  if (v === 1n) return 'loopback (::1)';
  const embedded = (kind: string, v4: number) => {
    const inner = classifyV4(v4);
    return inner === null ? null : `${inner}, as ${kind}`;
  };
  if (v >> 32n === 0xffffn) return embedded('IPv4-mapped IPv6', Number(v & 0xffffffffn));
  if (v >> 32n === 0n) return 'reserved (::/96, IPv4-compatible, deprecated)';
  if (v >> 32n === v6ToBigInt('64:ff9b::') >> 32n)
    return embedded('NAT64 (64:ff9b::/96)', Number(v & 0xffffffffn));
  if (v >> 112n === 0x2002n) return embedded('6to4 (2002::/16)', Number((v >> 80n) & 0xffffffffn));
  for (const r of V6_RANGES) if (inV6(v, r)) return r.kind;
  if (!inV6(v, GLOBAL_UNICAST_V6)) return `reserved (${addr} is outside 2000::/3, the global unicast block)`;
  return null;
}

function classifyV4(n: number): string | null {
  for (const r of V4_RANGES) {
    const mask = r.bits === 0 ? 0 : (0xffffffff << (32 - r.bits)) >>> 0;
    if ((n & mask) >>> 0 === r.base) return r.kind;
  }
  return null;
}

function inV6(v: bigint, r: V6Range): boolean {
  const shift = BigInt(128 - r.bits);
  return v >> shift === r.base >> shift;
}

function v4ToInt(s: string): number {
  return s.split('.').reduce((acc, octet) => ((acc << 8) | Number(octet)) >>> 0, 0);
}

/** Parses a valid IPv6 address (`isIP(s) === 6`, no zone id), dotted-quad tail included. */
function v6ToBigInt(s: string): bigint {
  let text = s;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted?.[1]) {
    const n = v4ToInt(dotted[1]);
    text = `${text.slice(0, -dotted[1].length)}${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(Number.parseInt(g, 16)), 0n);
}

/** Thrown (through the socket) when a webhook host resolves to a non-public address. */
export class PrivateAddressError extends Error {
  readonly code = 'ERR_WEBHOOK_PRIVATE_ADDRESS';
  constructor(
    readonly hostname: string,
    readonly address: string,
    readonly kind: string,
  ) {
    super(`${hostname} resolved to ${address}, ${kind}`);
    this.name = 'PrivateAddressError';
  }
}

/** `dns.lookup`'s shape when asked for every address. */
export type ResolveAll = (
  hostname: string,
  options: LookupOptions & { all: true },
  callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void,
) => void;

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/**
 * A `lookup` for `net.connect` / `http.request` that resolves every address of the host and fails
 * with `PrivateAddressError` if ANY of them is non-public (the socket could pick any of them, e.g.
 * with happy eyeballs), so the address checked is the address connected to: no window for a DNS
 * rebinding between check and connect. IP-literal hosts never reach a lookup (net connects to them
 * directly): `webhookUrlProblem` refuses those.
 */
export function guardedLookup(resolve: ResolveAll = dnsLookup as unknown as ResolveAll) {
  return (hostname: string, options: LookupOptions, callback: LookupCallback): void => {
    resolve(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, []);
      for (const a of addresses) {
        const kind = classifyAddress(a.address);
        if (kind !== null) return callback(new PrivateAddressError(hostname, a.address, kind), []);
      }
      const first = addresses[0];
      if (!first) {
        const none: NodeJS.ErrnoException = new Error(`${hostname} has no address`);
        none.code = 'ENOTFOUND';
        return callback(none, []);
      }
      if (options.all) return callback(null, addresses);
      return callback(null, first.address, first.family);
    });
  };
}
