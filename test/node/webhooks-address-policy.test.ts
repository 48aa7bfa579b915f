/**
 * @module webhooks-address-policy.test
 * The SSRF guard's address rules (core/webhooks/address-policy.ts), the function both the URL check at
 * create/update/delivery and the Node transport's post-DNS check use: every refused address class in IPv4 and
 * IPv6 (IPv4-mapped, -compatible, NAT64 and 6to4 forms judged by their IPv4 address), public addresses let
 * through, the allow-list's names, addresses and CIDRs, and the URL rules (https, no credentials, localhost).
 * Pure functions: nothing here touches the network.
 */
import { describe, expect, it } from 'vitest';
import { blockedReason, checkWebhookUrl, parseAllowList, parseCidr, parseIp, refusedAddress } from '../../src/core/webhooks/address-policy.ts';

const ip = (t: string) => {
  const b = parseIp(t);
  if (!b) throw new Error(`not an address: ${t}`);
  return b;
};

describe('refused address classes', () => {
  it.each([
    ['0.0.0.0', 'unspecified'], ['0.1.2.3', 'unspecified'],
    ['127.0.0.1', 'loopback'], ['127.255.255.254', 'loopback'],
    ['10.0.0.1', 'private'], ['172.16.0.1', 'private'], ['172.31.255.255', 'private'], ['192.168.1.1', 'private'],
    ['100.64.0.1', 'private (shared address space)'],
    ['169.254.169.254', 'link-local'],
    ['224.0.0.1', 'multicast'], ['239.255.255.250', 'multicast'],
    ['255.255.255.255', 'reserved'], ['240.0.0.1', 'reserved'], ['192.0.2.1', 'reserved (documentation)'],
    ['::', 'unspecified'], ['::1', 'loopback'],
    ['fe80::1', 'link-local'], ['febf::1', 'link-local'],
    ['fc00::1', 'unique-local'], ['fd12:3456:789a::1', 'unique-local'],
    ['ff02::1', 'multicast'], ['ff05::1:3', 'multicast'],
    ['fec0::1', 'site-local'],
    ['::ffff:127.0.0.1', 'loopback'], ['::ffff:7f00:1', 'loopback'], ['::ffff:10.0.0.1', 'private'], ['::ffff:169.254.169.254', 'link-local'],
    ['::127.0.0.1', 'loopback'], ['::ffff:0.0.0.0', 'unspecified'],
    ['64:ff9b::7f00:1', 'loopback'], ['64:ff9b::a9fe:a9fe', 'link-local'],
    ['2002:7f00:1::1', 'loopback'], ['2002:c0a8:101::1', 'private'],
    ['2001:db8::1', 'reserved (documentation)'],
  ])('%s is %s', (addr, why) => {
    expect(blockedReason(ip(addr))).toBe(why);
    expect(refusedAddress('h.example', addr, parseAllowList(''))).toBe(`${addr} is a ${why} address`);
  });

  it.each(['1.1.1.1', '8.8.8.8', '172.32.0.1', '100.128.0.1', '169.253.1.1', '2606:4700::1111', '::ffff:8.8.8.8', '64:ff9b::808:808', '2002:808:808::1'])(
    '%s is public',
    (addr) => {
      expect(blockedReason(ip(addr))).toBeNull();
      expect(refusedAddress('h.example', addr, parseAllowList(''))).toBeNull();
    },
  );

  it('parses only real addresses', () => {
    for (const t of ['1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', 'hooks.example.com', '1::2::3', '12345::1', ':::']) expect(parseIp(t)).toBeNull();
    expect(parseIp('[::1]')).toEqual(ip('::1'));
    expect(parseIp('fe80::1%eth0')).toEqual(ip('fe80::1'));
  });
});

describe('the operator allow-list (REGATE_WEBHOOK_ALLOW_HOSTS)', () => {
  it('takes host names, addresses and CIDRs, and refuses anything else', () => {
    const a = parseAllowList(' hooks.internal ,127.0.0.1, 10.20.0.0/16, fd00::/8 ');
    expect([...a.hosts]).toEqual(['hooks.internal']);
    expect(a.ranges).toHaveLength(3);
    expect(refusedAddress('x', '127.0.0.1', a)).toBeNull();
    expect(refusedAddress('x', '127.0.0.2', a)).toBe('127.0.0.2 is a loopback address');
    expect(refusedAddress('x', '10.20.3.4', a)).toBeNull();
    expect(refusedAddress('x', '10.21.0.1', a)).toBe('10.21.0.1 is a private address');
    expect(refusedAddress('x', 'fd12::1', a)).toBeNull();
    expect(refusedAddress('x', '::ffff:127.0.0.1', a)).toBeNull();
    expect(refusedAddress('hooks.internal', '192.168.9.9', a)).toBeNull();
    expect(refusedAddress('Hooks.Internal.', '192.168.9.9', a)).toBeNull();
    expect(() => parseAllowList('ok.example, bad host!')).toThrow(/REGATE_WEBHOOK_ALLOW_HOSTS: not a host name, address or CIDR: 'bad host!'/);
    expect(() => parseAllowList('10.0.0.0/33')).toThrow(/REGATE_WEBHOOK_ALLOW_HOSTS/);
    expect(parseCidr('10.0.0.0/8')!.bits).toBe(104);
  });
});

describe('webhook URLs', () => {
  const none = parseAllowList('');
  it('needs https, unless the host is allow-listed', () => {
    expect(checkWebhookUrl('https://hooks.example.com/x', none).ok).toBe(true);
    expect(checkWebhookUrl('http://hooks.example.com/x', none)).toMatchObject({ ok: false, reason: expect.stringMatching(/https/) });
    expect(checkWebhookUrl('http://hooks.example.com/x', parseAllowList('hooks.example.com')).ok).toBe(true);
    expect(checkWebhookUrl('http://127.0.0.1:9/x', parseAllowList('127.0.0.1')).ok).toBe(true);
    expect(checkWebhookUrl('ftp://hooks.example.com/', none).ok).toBe(false);
    expect(checkWebhookUrl('not a url', none).ok).toBe(false);
    expect(checkWebhookUrl('https://user:pw@hooks.example.com/', none).ok).toBe(false);
  });
  it('refuses refused literals in every spelling the URL parser accepts, and localhost names', () => {
    for (const u of ['https://127.1/', 'https://0x7f000001/', 'https://017700000001/', 'https://2130706433/', 'https://0x7f.1/', 'https://[::ffff:7f00:1]/', 'https://[0:0:0:0:0:0:0:1]/', 'https://LOCALHOST/', 'https://a.b.localhost/', 'https://localhost./', 'https://127.0.0.1./']) {
      expect(checkWebhookUrl(u, none).ok, u).toBe(false);
    }
  });
});
