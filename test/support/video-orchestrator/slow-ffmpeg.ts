import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * The real ffmpeg, made to read its inputs in real time (`-re` before every `-i`): a 20 s clip
 * then takes ~20 s of wall time at almost no CPU, which is what cancel, timeout, shutdown and
 * crash tests need (a render that is reliably still running) without heating two cores.
 */
export async function writeSlowFfmpeg(dir: string): Promise<string> {
  const path = join(dir, 'slow-ffmpeg.sh');
  await writeFile(
    path,
    `#!/usr/bin/env bash
args=()
for a in "$@"; do
  if [ "$a" = "-i" ]; then args+=("-re"); fi
  args+=("$a")
done
exec ffmpeg "\${args[@]}"
`,
  );
  await chmod(path, 0o755);
  return path;
}
