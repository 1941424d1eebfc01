import type { LookupAddress } from 'node:dns';
import { describe, expect, it } from 'vitest';
import {
  classifyAddress,
  guardedLookup,
  PrivateAddressError,
  privateHostReason,
  type ResolveAll,
  webhookUrlProblem,
} from './webhook-url.ts';

describe('classifyAddress', () => {
  it.each([
    ['0.0.0.0', /unspecified/],
    ['0.1.2.3', /unspecified/],
    ['10.0.0.1', /private \(10\.0\.0\.0\/8/],
    ['10.255.255.255', /private/],
    ['100.64.0.1', /carrier-grade NAT/],
    ['100.127.255.255', /carrier-grade NAT/],
    ['127.0.0.1', /loopback/],
    ['127.255.255.254', /loopback/],
    ['169.254.169.254', /link-local.*metadata/],
    ['172.16.0.1', /private \(172\.16/],
    ['172.31.255.255', /private/],
    ['192.0.0.8', /reserved/],
    ['192.0.2.1', /documentation/],
    ['192.168.1.1', /private \(192\.168/],
    ['198.18.0.1', /benchmarking/],
    ['198.19.255.255', /benchmarking/],
    ['224.0.0.1', /multicast/],
    ['239.255.255.250', /multicast/],
    ['240.0.0.1', /reserved/],
    ['255.255.255.255', /reserved.*broadcast/],
  ])('IPv4 %s is not public', (ip, kind) => {
    expect(classifyAddress(ip)).toMatch(kind);
  });

  it.each([
    '1.1.1.1',
    '8.8.8.8',
    '9.255.255.255', // just below 10/8
    '11.0.0.0', // just above 10/8
    '100.63.255.255', // just below 100.64/10
    '100.128.0.0', // just above
    '126.255.255.255',
    '128.0.0.0',
    '169.253.255.255',
    '169.255.0.0',
    '172.15.255.255', // just below 172.16/12
    '172.32.0.0', // just above
    '192.167.255.255',
    '192.169.0.0',
    '198.17.255.255',
    '198.20.0.0',
    '223.255.255.255', // just below multicast
  ])('IPv4 %s is public', (ip) => {
    expect(classifyAddress(ip)).toBeNull();
  });

  it.each([
    ['::', /unspecified/],
    ['::1', /loopback/],
    ['0:0:0:0:0:0:0:1', /loopback/],
    ['::ffff:127.0.0.1', /loopback.*IPv4-mapped/],
    ['::ffff:7f00:1', /loopback.*IPv4-mapped/],
    ['::ffff:10.1.2.3', /private.*IPv4-mapped/],
    ['::ffff:169.254.169.254', /link-local.*IPv4-mapped/],
    ['::ffff:0.0.0.0', /unspecified.*IPv4-mapped/],
    ['::127.0.0.1', /IPv4-compatible/],
    ['::8.8.8.8', /IPv4-compatible/],
    ['64:ff9b::10.0.0.1', /private.*NAT64/],
    ['64:ff9b::7f00:1', /loopback.*NAT64/],
    ['64:ff9b:1::1', /local-use NAT64/],
    ['2002:7f00:1::1', /loopback.*6to4/],
    ['2002:c0a8:101::', /private.*6to4/],
    ['100::1', /discard/],
    ['2001::1', /Teredo/],
    ['2001:db8::1', /documentation/],
    ['fc00::1', /unique-local/],
    ['fd12:3456:789a::1', /unique-local/],
    ['fe80::1', /link-local/],
    ['fe80::1%eth0', /link-local/],
    ['febf:ffff::1', /link-local/],
    ['fec0::1', /site-local/],
    ['ff02::1', /multicast/],
    ['ff05::1:3', /multicast/],
    ['4000::1', /outside 2000::\/3/],
    ['fbff:ffff::1', /outside 2000::\/3/],
    ['3fff::1', /documentation/],
    ['::2', /IPv4-compatible/],
  ])('IPv6 %s is not public', (ip, kind) => {
    expect(classifyAddress(ip)).toMatch(kind);
  });

  it.each([
    '2606:4700:4700::1111',
    '2a00:1450:4001:82b::200e',
    '2001:4860:4860::8888',
    '::ffff:8.8.8.8', // mapped public
    '::ffff:808:808',
    '64:ff9b::808:808', // NAT64 of a public address
    '2002:808:808::1', // 6to4 of a public address
    '2001:1::1', // just past Teredo /32
    '2001:db9::1', // just past documentation
    '3fff:1000::1', // just past documentation 3fff::/20
  ])('IPv6 %s is public', (ip) => {
    expect(classifyAddress(ip)).toBeNull();
  });

  it('not an IP at all → null (callers check isIP first)', () => {
    expect(classifyAddress('example.com')).toBeNull();
    expect(classifyAddress('')).toBeNull();
  });
});

describe('privateHostReason (URL hostnames, no DNS)', () => {
  it('localhost and *.localhost, any case, trailing dot', () => {
    for (const h of ['localhost', 'LOCALHOST', 'localhost.', 'api.localhost', 'a.b.localhost.']) {
      expect(privateHostReason(h), h).toMatch(/loopback \(localhost\)/);
    }
    expect(privateHostReason('localhost.example.com')).toBeNull();
    expect(privateHostReason('notlocalhost')).toBeNull();
  });

  it('bracketed IPv6 literals as URL.hostname gives them', () => {
    expect(privateHostReason(new URL('https://[::1]:8443/x').hostname)).toMatch(/host \[::1\] is loopback/);
    expect(privateHostReason(new URL('https://[::ffff:127.0.0.1]/x').hostname)).toMatch(/loopback/);
    expect(privateHostReason(new URL('https://[fd00::5]/x').hostname)).toMatch(/unique-local/);
    expect(privateHostReason(new URL('https://[2606:4700:4700::1111]/x').hostname)).toBeNull();
  });

  it('IPv4 in any notation the URL parser normalises (decimal, hex, short forms)', () => {
    for (const url of [
      'https://2130706433/',
      'https://0x7f000001/',
      'https://0x7f.1/',
      'https://127.1/',
      'https://017700000001/',
      'https://0/',
      'https://169.254.169.254./',
    ]) {
      expect(privateHostReason(new URL(url).hostname), url).not.toBeNull();
    }
    expect(privateHostReason(new URL('https://8.8.8.8/').hostname)).toBeNull();
  });

  it('other names are left to the delivery-time lookup', () => {
    expect(privateHostReason('example.com')).toBeNull();
    expect(privateHostReason('metadata.google.internal')).toBeNull();
  });
});

describe('webhookUrlProblem', () => {
  const strict = { allowHttp: false, allowPrivate: false };
  it('https to a public host is fine', () => {
    expect(webhookUrlProblem('https://hooks.example.com/tollgate?x=1', strict)).toBeNull();
    expect(webhookUrlProblem('https://93.184.216.34/hook', strict)).toBeNull();
  });

  it('scheme, credentials and syntax', () => {
    expect(webhookUrlProblem('not a url', strict)).toBe('is not a valid URL');
    expect(webhookUrlProblem('http://example.com/', strict)).toBe('must be an https URL');
    expect(webhookUrlProblem('ftp://example.com/', { ...strict, allowHttp: true })).toBe(
      'must be an https or http URL',
    );
    expect(webhookUrlProblem('http://example.com/', { ...strict, allowHttp: true })).toBeNull();
    expect(webhookUrlProblem('https://u:p@example.com/', strict)).toBe('must not contain credentials');
  });

  it('private destinations refused with a precise reason unless allowed', () => {
    expect(webhookUrlProblem('https://10.0.0.1/x', strict)).toBe(
      'must reach a public address: host 10.0.0.1 is private (10.0.0.0/8, RFC 1918)',
    );
    expect(webhookUrlProblem('https://169.254.169.254/latest/meta-data/', strict)).toMatch(/link-local/);
    expect(webhookUrlProblem('https://[::1]/x', strict)).toMatch(/loopback/);
    expect(webhookUrlProblem('https://localhost:8443/x', strict)).toMatch(/localhost/);
    expect(webhookUrlProblem('http://127.0.0.1:9/x', { allowHttp: true, allowPrivate: false })).toMatch(
      /loopback/,
    );
    expect(webhookUrlProblem('http://127.0.0.1:9/x', { allowHttp: true, allowPrivate: true })).toBeNull();
    // The private flag does not let http through on its own.
    expect(webhookUrlProblem('http://127.0.0.1:9/x', { allowHttp: false, allowPrivate: true })).toBe(
      'must be an https URL',
    );
  });
});

describe('guardedLookup', () => {
  const fake =
    (table: Record<string, LookupAddress[]>): ResolveAll =>
    (hostname, _options, callback) => {
      const found = table[hostname];
      if (!found) {
        const err: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${hostname}`);
        err.code = 'ENOTFOUND';
        callback(err, []);
      } else callback(null, found);
    };
  const resolve = fake({
    'public.test': [{ address: '93.184.216.34', family: 4 }],
    'both.test': [
      { address: '2606:4700::1', family: 6 },
      { address: '93.184.216.34', family: 4 },
    ],
    'rebind.test': [{ address: '127.0.0.1', family: 4 }],
    'mixed.test': [
      { address: '93.184.216.34', family: 4 },
      { address: '10.0.0.7', family: 4 },
    ],
    'mapped.test': [{ address: '::ffff:169.254.169.254', family: 6 }],
  });
  const lookup = guardedLookup(resolve);
  const run = (host: string, all: boolean) =>
    new Promise<{ err: NodeJS.ErrnoException | null; address: unknown; family?: number | undefined }>((r) =>
      lookup(host, { all }, (err, address, family) => r({ err, address, family })),
    );

  it('public answers pass, in the shape net.connect asked for', async () => {
    expect(await run('public.test', false)).toEqual({ err: null, address: '93.184.216.34', family: 4 });
    expect((await run('both.test', true)).address).toEqual([
      { address: '2606:4700::1', family: 6 },
      { address: '93.184.216.34', family: 4 },
    ]);
  });

  it('any non-public answer fails the lookup with PrivateAddressError', async () => {
    for (const host of ['rebind.test', 'mixed.test', 'mapped.test']) {
      for (const all of [false, true]) {
        const { err } = await run(host, all);
        expect(err, host).toBeInstanceOf(PrivateAddressError);
        expect((err as PrivateAddressError).hostname).toBe(host);
      }
    }
    expect((await run('rebind.test', false)).err?.message).toBe(
      'rebind.test resolved to 127.0.0.1, loopback (127.0.0.0/8)',
    );
  });

  it('resolver errors pass through unchanged', async () => {
    const { err } = await run('nowhere.test', false);
    expect(err?.code).toBe('ENOTFOUND');
    expect(err).not.toBeInstanceOf(PrivateAddressError);
  });
});
