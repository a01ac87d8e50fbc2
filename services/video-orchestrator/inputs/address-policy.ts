import ipaddr from 'ipaddr.js';

/** Decides whether a resolved address may be connected to. Injected so tests can allow loopback. */
export type AddressPolicy = (address: string) => boolean;

/**
 * The default policy: public unicast only. ipaddr.js names every special range (loopback,
 * private, linkLocal, uniqueLocal, unspecified, carrierGradeNat, reserved, multicast, 6to4,
 * teredo, NAT64 …); only `unicast` is left, so an allowlist beats enumerating a denylist.
 * IPv4-mapped IPv6 (`::ffff:127.0.0.1`) is judged as the IPv4 address it carries.
 */
export const publicAddressesOnly: AddressPolicy = function publicAddressesOnly(address) {
  if (!ipaddr.isValid(address)) return false;
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) {
    parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  }
  return parsed.range() === 'unicast';
};

/** Tests only: lets an allowed host resolve to 127.0.0.1/::1; everything else keeps the default. */
export const loopbackAllowedForTests: AddressPolicy = function loopbackAllowedForTests(address) {
  if (!ipaddr.isValid(address)) return false;
  return ipaddr.process(address).range() === 'loopback' || publicAddressesOnly(address);
};
