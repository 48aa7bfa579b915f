/**
 * @module address-policy
 * The SSRF guard of webhook deliveries: which addresses a webhook may reach. A webhook URL is the caller's to
 * choose, and regate sends from inside the operator's network, so loopback, link-local, private, unique-local,
 * multicast, unspecified and otherwise reserved addresses are refused (IPv4 and IPv6, IPv4-mapped, -compatible,
 * NAT64 and 6to4 forms checked by the IPv4 address they carry) unless the operator's allow-list
 * (REGATE_WEBHOOK_ALLOW_HOSTS: host names, addresses or CIDRs) names them. Checked on the URL's host when a
 * webhook is created or updated and again at every delivery; the Node runtime also checks every address the host
 * name resolves to, at connect time (runtime/node-webhook-transport.ts). Pure functions, no I/O.
 */

/** An address as 16 bytes (IPv4 as its IPv4-mapped IPv6 form), or null when `text` is not an IP literal. */
export function parseIp(text: string): Uint8Array | null {
  const t = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  const v4 = parseIpv4(t);
  if (v4) return mapped(v4);
  return t.includes(':') ? parseIpv6(t) : null;
}

function mapped(v4: Uint8Array): Uint8Array {
  const out = new Uint8Array(16);
  out[10] = 0xff;
  out[11] = 0xff;
  out.set(v4, 12);
  return out;
}

function parseIpv4(t: string): Uint8Array | null {
  const parts = t.split('.');
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p) || Number(p) > 255) return null;
    out[i] = Number(p);
  }
  return out;
}

function parseIpv6(t: string): Uint8Array | null {
  const zone = t.indexOf('%');
  const s = zone >= 0 ? t.slice(0, zone) : t;
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const groups = (h: string): number[] | null => {
    if (h === '') return [];
    const out: number[] = [];
    const parts = h.split(':');
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      if (i === parts.length - 1 && p.includes('.')) {
        const v4 = parseIpv4(p);
        if (!v4) return null;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(p)) {
        out.push(parseInt(p, 16));
      } else {
        return null;
      }
    }
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (!head || !tail) return null;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  const all = [...head, ...new Array<number>(missing).fill(0), ...tail];
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    out[i * 2] = g >> 8;
    out[i * 2 + 1] = g & 0xff;
  });
  return out;
}

export interface Cidr {
  bytes: Uint8Array;
  /** Prefix length over the 16-byte form (an IPv4 /n is 96 + n). */
  bits: number;
}

/** @example parseCidr('10.0.0.0/8') // { bits: 104, ... } */
export function parseCidr(text: string): Cidr | null {
  const [addr, len, ...rest] = text.split('/');
  if (rest.length > 0 || addr === undefined) return null;
  const bytes = parseIp(addr);
  if (!bytes) return null;
  const isV4 = parseIpv4(addr.replace(/^\[|\]$/g, '')) !== null;
  const max = isV4 ? 32 : 128;
  const n = len === undefined ? max : /^[0-9]{1,3}$/.test(len) ? Number(len) : NaN;
  if (!(n >= 0 && n <= max)) return null;
  return { bytes, bits: isV4 ? 96 + n : n };
}

function inCidr(ip: Uint8Array, c: Cidr): boolean {
  const full = Math.floor(c.bits / 8);
  for (let i = 0; i < full; i++) if (ip[i] !== c.bytes[i]) return false;
  const rem = c.bits % 8;
  if (rem === 0) return true;
  const mask = (0xff << (8 - rem)) & 0xff;
  return (ip[full]! & mask) === (c.bytes[full]! & mask);
}

const cidr = (text: string, why: string) => ({ range: parseCidr(text)!, why });

/** IPv4 ranges never reached unless allow-listed (IANA special-purpose registry, and multicast). */
const BLOCKED_V4 = [
  cidr('0.0.0.0/8', 'unspecified'),
  cidr('10.0.0.0/8', 'private'),
  cidr('100.64.0.0/10', 'private (shared address space)'),
  cidr('127.0.0.0/8', 'loopback'),
  cidr('169.254.0.0/16', 'link-local'),
  cidr('172.16.0.0/12', 'private'),
  cidr('192.0.0.0/24', 'reserved'),
  cidr('192.0.2.0/24', 'reserved (documentation)'),
  cidr('192.168.0.0/16', 'private'),
  cidr('198.18.0.0/15', 'reserved (benchmarking)'),
  cidr('198.51.100.0/24', 'reserved (documentation)'),
  cidr('203.0.113.0/24', 'reserved (documentation)'),
  cidr('224.0.0.0/4', 'multicast'),
  cidr('240.0.0.0/4', 'reserved'),
];

const BLOCKED_V6 = [
  cidr('::/128', 'unspecified'),
  cidr('::1/128', 'loopback'),
  cidr('100::/64', 'reserved (discard)'),
  cidr('2001::/32', 'reserved (Teredo)'),
  cidr('2001:db8::/32', 'reserved (documentation)'),
  cidr('fc00::/7', 'unique-local'),
  cidr('fe80::/10', 'link-local'),
  cidr('fec0::/10', 'site-local'),
  cidr('ff00::/8', 'multicast'),
];

/** IPv6 forms that carry an IPv4 address: checked as that address. [prefix, offset of the IPv4 bytes]. */
const EMBEDS_V4: Array<[Cidr, number]> = [
  [parseCidr('::ffff:0:0/96')!, 12],
  [parseCidr('::/96')!, 12],
  [parseCidr('64:ff9b::/96')!, 12],
  [parseCidr('64:ff9b:1::/48')!, 12],
  [parseCidr('2002::/16')!, 2],
];

/** Why `ip` (16 bytes) may not be reached, or null when it is a public address. */
export function blockedReason(ip: Uint8Array): string | null {
  for (const [prefix, at] of EMBEDS_V4) {
    if (inCidr(ip, prefix) && !(at === 12 && isZeroOrOne(ip))) {
      const v4 = mapped(ip.slice(at, at + 4));
      for (const b of BLOCKED_V4) if (inCidr(v4, b.range)) return b.why;
      return null;
    }
  }
  for (const b of BLOCKED_V6) if (inCidr(ip, b.range)) return b.why;
  return null;
}

/** `::` and `::1` fall in ::/96 but are the IPv6 unspecified and loopback addresses, not embedded IPv4. */
function isZeroOrOne(ip: Uint8Array): boolean {
  for (let i = 0; i < 15; i++) if (ip[i] !== 0) return false;
  return ip[15]! <= 1;
}

/** What the operator allowed beyond public addresses (REGATE_WEBHOOK_ALLOW_HOSTS). */
export interface AllowList {
  /** Host names (lower case) allowed whatever they resolve to, and over plain http. */
  hosts: ReadonlySet<string>;
  ranges: readonly Cidr[];
}

export const EMPTY_ALLOW_LIST: AllowList = { hosts: new Set(), ranges: [] };

/**
 * @example parseAllowList('hooks.internal, 127.0.0.1, 10.1.0.0/16, ::1')
 * Throws on an entry that is neither a host name nor an address or CIDR.
 */
export function parseAllowList(raw: string | undefined): AllowList {
  const hosts = new Set<string>();
  const ranges: Cidr[] = [];
  for (const entry of (raw ?? '').split(',').map((x) => x.trim()).filter((x) => x !== '')) {
    const c = parseCidr(entry);
    if (c) ranges.push(c);
    else if (/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i.test(entry)) hosts.add(entry.toLowerCase());
    else throw new Error(`REGATE_WEBHOOK_ALLOW_HOSTS: not a host name, address or CIDR: '${entry}'`);
  }
  return { hosts, ranges };
}

/** A host name as compared: lower case, without the root's trailing dot (`localhost.` is `localhost`). */
function canonicalHost(host: string): string {
  return host.toLowerCase().replace(/\.$/, '');
}

/** Whether the operator allowed this address. */
function addressAllowed(ip: Uint8Array, allow: AllowList): boolean {
  return allow.ranges.some((r) => inCidr(ip, r));
}

/** Why the resolved address `text` may not be reached for `host`, or null. */
export function refusedAddress(host: string, text: string, allow: AllowList): string | null {
  if (allow.hosts.has(canonicalHost(host))) return null;
  const ip = parseIp(text);
  if (!ip) return `'${text}' is not an IP address`;
  if (addressAllowed(ip, allow)) return null;
  const why = blockedReason(ip);
  return why === null ? null : `${text} is a ${why} address`;
}

export type UrlCheck = { ok: true; url: URL; hostIsIp: boolean } | { ok: false; reason: string };

/**
 * The checks that need no DNS: the URL parses, is https (http only to an allow-listed host or address),
 * carries no credentials, and its host is neither a refused address nor a `localhost` name. The same check
 * runs at create/update and at every delivery (the allow-list may have changed since).
 */
export function checkWebhookUrl(text: string, allow: AllowList): UrlCheck {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { ok: false, reason: 'is not a valid URL' };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return { ok: false, reason: 'must be an https:// URL' };
  if (url.username !== '' || url.password !== '') return { ok: false, reason: 'must not carry credentials (use http_url_spec.authorization)' };
  const host = canonicalHost(url.hostname);
  const ip = parseIp(host);
  const listed = allow.hosts.has(host) || (ip !== null && addressAllowed(ip, allow));
  if (url.protocol === 'http:' && !listed) return { ok: false, reason: 'must be an https:// URL (plain http only to a host in REGATE_WEBHOOK_ALLOW_HOSTS)' };
  if (listed) return { ok: true, url, hostIsIp: ip !== null };
  if (ip) {
    const why = blockedReason(ip);
    if (why) return { ok: false, reason: `points at a ${why} address (${host}); allow it with REGATE_WEBHOOK_ALLOW_HOSTS` };
    return { ok: true, url, hostIsIp: true };
  }
  if (host === 'localhost' || host.endsWith('.localhost')) {
    return { ok: false, reason: `points at a loopback name (${host}); allow it with REGATE_WEBHOOK_ALLOW_HOSTS` };
  }
  return { ok: true, url, hostIsIp: false };
}
