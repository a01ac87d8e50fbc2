import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { LookupAll } from '../../../services/video-orchestrator/inputs/pinned-agent.ts';

const run = promisify(execFile);

export interface TestCertificate {
  cert: string;
  key: string;
}

/** A throwaway self-signed certificate for the fake hosts the tests resolve to loopback. */
export async function createTestCertificate(hosts: string[]): Promise<TestCertificate> {
  const dir = await mkdtemp(join(tmpdir(), 'video-tls-'));
  try {
    await run('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
      '-days',
      '1',
      '-subj',
      `/CN=${hosts[0]}`,
      '-addext',
      `subjectAltName=${hosts.map((h) => `DNS:${h}`).join(',')}`,
    ]);
    return {
      cert: await readFile(join(dir, 'cert.pem'), 'utf8'),
      key: await readFile(join(dir, 'key.pem'), 'utf8'),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface TestHttpsServer {
  port: number;
  close(): Promise<void>;
}

export async function startHttpsServer(
  certificate: TestCertificate,
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<TestHttpsServer> {
  const server = createServer({ cert: certificate.cert, key: certificate.key }, handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A resolver for fake host names; anything unknown does not resolve. */
export function fakeLookup(table: Record<string, string[]>): LookupAll {
  return (hostname, callback) => {
    const addresses = table[hostname.toLowerCase()];
    if (!addresses) {
      const error = Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
      queueMicrotask(() => callback(error, []));
      return;
    }
    queueMicrotask(() =>
      callback(
        null,
        addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })),
      ),
    );
  };
}
