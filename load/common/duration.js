// Plain ECMAScript shared by the k6 scripts and the Node runner: no imports, no Node or k6 APIs.

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Parses a k6 duration string ('2m', '30s', '1m30s', '250ms', '0s') into milliseconds.
 * A bare number is taken as seconds, as k6 does.
 *
 * @param {string | number} text
 * @returns {number}
 */
export function parseDuration(text) {
  if (typeof text === 'number') return text * 1000;
  const trimmed = String(text).trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed) * 1000;
  const part = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
  let total = 0;
  let consumed = 0;
  for (let match = part.exec(trimmed); match !== null; match = part.exec(trimmed)) {
    total += Number(match[1]) * UNIT_MS[/** @type {'ms'|'s'|'m'|'h'} */ (match[2])];
    consumed += match[0].length;
  }
  if (consumed === 0 || consumed !== trimmed.length)
    throw new Error(`invalid duration: ${JSON.stringify(text)}`);
  return total;
}

/**
 * Formats milliseconds the way k6 prints durations ('2m0s' → '2m', '1m30s', '45s', '500ms').
 *
 * @param {number} ms
 * @returns {string}
 */
export function formatDuration(ms) {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const totalSeconds = Math.round(ms / 1000);
  const minutes = Math.floor(totalSeconds / 60);
  const seconds = totalSeconds % 60;
  if (minutes === 0) return `${seconds}s`;
  return seconds === 0 ? `${minutes}m` : `${minutes}m${seconds}s`;
}
