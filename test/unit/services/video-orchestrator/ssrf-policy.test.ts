import { describe, expect, it } from 'vitest';
import {
  loopbackAllowedForTests,
  publicAddressesOnly,
} from '../../../../services/video-orchestrator/inputs/address-policy.ts';
import { hostIsAllowed } from '../../../../services/video-orchestrator/inputs/host-allowlist.ts';

describe('address policy', () => {
  it.each([
    '127.0.0.1',
    '127.255.0.9',
    '10.0.0.1',
    '172.16.5.4',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '255.255.255.255',
    '224.0.0.1',
    '192.0.2.1',
    '198.18.0.1',
    '240.0.0.1',
    '::1',
    '::',
    'fe80::1',
    'fd00::1',
    'fc00::1',
    '::ffff:127.0.0.1',
    '::ffff:10.0.0.1',
    '64:ff9b::a00:1',
    '2002:a00:1::',
    'ff02::1',
    'not-an-ip',
  ])('refuses %s', (address) => {
    expect(publicAddressesOnly(address)).toBe(false);
  });

  it.each(['93.184.216.34', '8.8.8.8', '2606:4700:4700::1111', '::ffff:93.184.216.34'])(
    'allows public %s',
    (address) => {
      expect(publicAddressesOnly(address)).toBe(true);
    },
  );

  it('the test policy adds loopback and nothing else', () => {
    expect(loopbackAllowedForTests('127.0.0.1')).toBe(true);
    expect(loopbackAllowedForTests('::1')).toBe(true);
    expect(loopbackAllowedForTests('10.0.0.1')).toBe(false);
    expect(loopbackAllowedForTests('169.254.169.254')).toBe(false);
  });
});

describe('host allowlist', () => {
  const list = ['cdn.example.com', '*.media.example'];
  it('matches exact hosts and subdomain wildcards, case- and trailing-dot-insensitive', () => {
    expect(hostIsAllowed('cdn.example.com', list)).toBe(true);
    expect(hostIsAllowed('CDN.Example.com.', list)).toBe(true);
    expect(hostIsAllowed('a.b.media.example', list)).toBe(true);
    expect(hostIsAllowed('media.example', list)).toBe(false);
    expect(hostIsAllowed('evilmedia.example', list)).toBe(false);
    expect(hostIsAllowed('cdn.example.com.evil.net', list)).toBe(false);
    expect(hostIsAllowed('', list)).toBe(false);
  });
});
