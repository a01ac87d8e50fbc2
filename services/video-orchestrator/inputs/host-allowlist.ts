/**
 * `RENDER_ALLOWED_HOSTS` entries are exact host names (`cdn.example.com`) or a wildcard for
 * subdomains (`*.example.com`, which does not match `example.com` itself). Case-insensitive; a
 * trailing dot (`example.com.`) is the same host and must not slip past an exact entry.
 */
export function hostIsAllowed(hostname: string, allowedHosts: readonly string[]): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, '');
  if (!host) return false;
  for (const raw of allowedHosts) {
    const entry = raw.toLowerCase().replace(/\.$/, '');
    if (entry.startsWith('*.')) {
      const suffix = entry.slice(1);
      if (host.endsWith(suffix) && host.length > suffix.length) return true;
    } else if (entry === host) {
      return true;
    }
  }
  return false;
}
