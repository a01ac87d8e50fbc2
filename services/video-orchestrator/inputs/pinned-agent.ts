import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import { Agent } from 'undici';
import { type AddressPolicy, publicAddressesOnly } from './address-policy.ts';

/** `dns.lookup`'s callback form, always asked for every address. */
export type LookupAll = (
  hostname: string,
  callback: (error: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void,
) => void;

export const systemLookup: LookupAll = (hostname, callback) =>
  dnsLookup(hostname, { all: true, verbatim: true }, (error, addresses) => callback(error, addresses ?? []));

/** A destination our policy refuses (after DNS, or an IP literal). Never retried. */
export class AddressRefusedError extends Error {
  readonly code = 'ERR_ADDRESS_REFUSED';
  constructor(message: string) {
    super(message);
    this.name = 'AddressRefusedError';
  }
}

export interface PinnedAgentOptions {
  addressPolicy?: AddressPolicy;
  lookup?: LookupAll;
  /** Extra CA certificates (tests with a self-signed server). */
  ca?: string | Buffer;
  connectTimeoutMs?: number;
  headersTimeoutMs?: number;
  bodyTimeoutMs?: number;
}

/**
 * An undici Agent whose DNS lookup refuses the whole answer when any address is not allowed, and
 * hands the socket exactly the addresses it checked: no second resolution between check and
 * connect (DNS rebinding). TLS still verifies the certificate against the host name.
 *
 * @example
 * const agent = createPinnedAgent({});
 * await request(url, { dispatcher: agent });
 */
export function createPinnedAgent(options: PinnedAgentOptions = {}): Agent {
  const policy = options.addressPolicy ?? publicAddressesOnly;
  const lookup = options.lookup ?? systemLookup;
  function pinnedLookup(
    hostname: string,
    lookupOptions: { all?: boolean },
    callback: (error: Error | null, address: string | LookupAddress[], family?: number) => void,
  ) {
    lookup(hostname, (error, addresses) => {
      if (error) return callback(error, '');
      if (addresses.length === 0) return callback(new Error(`${hostname} did not resolve`), '');
      const refused = addresses.find((a) => !policy(a.address));
      if (refused) {
        return callback(
          new AddressRefusedError(`${hostname} resolves to ${refused.address}, which is not allowed`),
          '',
        );
      }
      if (lookupOptions.all) callback(null, addresses);
      else callback(null, addresses[0].address, addresses[0].family);
    });
  }
  return new Agent({
    connect: {
      lookup: pinnedLookup as never,
      ...(options.ca ? { ca: options.ca } : {}),
      timeout: options.connectTimeoutMs ?? 10_000,
    },
    headersTimeout: options.headersTimeoutMs ?? 15_000,
    bodyTimeout: options.bodyTimeoutMs ?? 30_000,
  });
}

/** IP literals skip DNS (and the lookup above), so they are judged before any connection. */
export function assertLiteralAddressAllowed(
  hostname: string,
  policy: AddressPolicy = publicAddressesOnly,
): void {
  const bare = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  if (isIP(bare) && !policy(bare)) throw new AddressRefusedError(`${bare} is not an allowed address`);
}

/** True when undici (or a wrapped cause) reports our refusal. */
export function isAddressRefused(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; current && depth < 5; depth++) {
    if ((current as { code?: string }).code === 'ERR_ADDRESS_REFUSED') return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}
