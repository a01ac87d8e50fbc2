import { execFile } from 'node:child_process';
import ffmpeg from 'fluent-ffmpeg';

// THE ONLY module that knows fluent-ffmpeg (its upstream repository is archived): everything else
// speaks `FfmpegCommandSpec` and `MediaTools`, so replacing the library touches this file alone.

/** One `-i`: options placed before it, and a path relative to the command's working directory. */
export interface FfmpegInput {
  path: string;
  options: string[];
}

export interface FfmpegOutput {
  path: string;
  options: string[];
}

/** A whole ffmpeg invocation as data: built by the render plan, run here, printed by `toArgs`. */
export interface FfmpegCommandSpec {
  inputs: FfmpegInput[];
  /** `-filter_complex` graph; built only from validated numbers and enums (see render-plan.ts). */
  filterGraph?: string;
  outputs: FfmpegOutput[];
}

export interface RunOptions {
  /** Working directory: the job's temp directory, so every path ffmpeg sees is ours and relative. */
  cwd: string;
  /** Abort → SIGTERM, then SIGKILL after `killGraceMs`. The promise settles once the process exited. */
  signal?: AbortSignal;
  /** Seconds of output encoded so far, from ffmpeg's progress line (`time=`). */
  onProgress?: (encodedSeconds: number) => void;
}

/** What a finished run proves about its output without reading it again. */
export interface RunResult {
  /** The last `time=` of ffmpeg's stats: seconds of output written (null if it printed none). */
  encodedS: number | null;
}

export interface ProbeStream {
  index: number;
  codecType: string;
  codecName: string;
  width?: number;
  height?: number;
  durationS?: number;
  /** Frames of a still image container (e.g. 1 for a JPEG), when ffprobe knows it. */
  frames?: number;
}

export interface ProbeResult {
  formatName: string;
  durationS: number | null;
  sizeBytes: number | null;
  streams: ProbeStream[];
}

/** Why ffmpeg did not finish: `signal` = killed from outside (OOM, operator), `aborted` = by us. */
export type FfmpegFailureKind = 'exit' | 'signal' | 'aborted' | 'spawn';

export class FfmpegError extends Error {
  readonly kind: FfmpegFailureKind;
  readonly stderrTail: string;
  constructor(kind: FfmpegFailureKind, message: string, stderrTail = '') {
    super(message);
    this.name = 'FfmpegError';
    this.kind = kind;
    this.stderrTail = stderrTail;
  }
}

export class ProbeError extends Error {
  /** `unreadable`: not media or corrupt; `tool`: ffprobe itself failed (timeout, missing binary). */
  readonly kind: 'unreadable' | 'tool';
  constructor(kind: 'unreadable' | 'tool', message: string) {
    super(message);
    this.name = 'ProbeError';
    this.kind = kind;
  }
}

export interface ProbeOptions {
  /** The demuxer the file is read with (see `pinnedInputOptions`); never ffmpeg's own guess. */
  demuxer: string;
  signal?: AbortSignal;
  timeoutMs?: number;
}

export interface MediaTools {
  run(spec: FfmpegCommandSpec, options: RunOptions): Promise<RunResult>;
  probe(path: string, options: ProbeOptions): Promise<ProbeResult>;
  /** The argument vector `run` passes to ffmpeg (bench and debugging). */
  toArgs(spec: FfmpegCommandSpec): string[];
  readonly ffmpegPath: string;
}

export interface MediaToolsOptions {
  ffmpegPath?: string;
  ffprobePath?: string;
  /** Between SIGTERM (ffmpeg closes its files) and SIGKILL. */
  killGraceMs?: number;
  probeTimeoutMs?: number;
}

/**
 * Options before every `-i` (and ffprobe's input): local files only, read by the one demuxer named, and
 * no other demuxer allowed to open anything (a nested open, like HLS or concat opening a segment, is
 * refused with "Format not on whitelist").
 */
export function pinnedInputOptions(demuxer: string): string[] {
  if (!/^[a-z0-9_]+$/.test(demuxer)) throw new Error(`not a demuxer name: ${demuxer}`);
  return ['-protocol_whitelist', 'file', '-f', demuxer, '-format_whitelist', demuxer];
}

/** Global options on every run: never read stdin, no banner, keep the progress line. */
const GLOBAL_OPTIONS = ['-nostdin', '-hide_banner', '-stats'];
const TIME_RE = /time=\s*(\d+):(\d{2}):(\d{2}(?:\.\d+)?)/;

/**
 * fluent-ffmpeg splits a lone option on its space ("-a b" becomes two arguments) unless it gets
 * several at once; every list we pass has a flag and its value, so only a lone one could be split.
 */
function noSplit(options: string[]): [string, ...string[]] {
  if (options.length === 1 && options[0].includes(' '))
    throw new Error(`ambiguous ffmpeg option: ${options[0]}`);
  return options as [string, ...string[]];
}

function parseTimemark(line: string): number | null {
  const match = TIME_RE.exec(line);
  if (!match) return null;
  return Number(match[1]) * 3600 + Number(match[2]) * 60 + Number(match[3]);
}

function tail(text: string, lines = 12): string {
  return text
    .split(/\r\n|\r|\n/)
    .filter(Boolean)
    .slice(-lines)
    .join('\n');
}

function toNumber(value: unknown): number | undefined {
  const n = typeof value === 'string' ? Number(value) : typeof value === 'number' ? value : Number.NaN;
  return Number.isFinite(n) ? n : undefined;
}

/**
 * ffmpeg through fluent-ffmpeg, ffprobe through execFile (fluent's ffprobe cannot be timed out or
 * cancelled, and a hostile file must not be able to hang a worker).
 *
 * @example
 * const tools = createMediaTools({ ffmpegPath: config.FFMPEG_PATH });
 * await tools.run(plan.command, { cwd: workspace.dir, signal, onProgress });
 */
export function createMediaTools(options: MediaToolsOptions = {}): MediaTools {
  const ffmpegPath = options.ffmpegPath ?? 'ffmpeg';
  const ffprobePath = options.ffprobePath ?? 'ffprobe';
  const killGraceMs = options.killGraceMs ?? 2000;
  const probeTimeoutMs = options.probeTimeoutMs ?? 15_000;

  function build(spec: FfmpegCommandSpec, cwd?: string): ffmpeg.FfmpegCommand {
    const command = ffmpeg({ cwd, stdoutLines: 0 }).setFfmpegPath(ffmpegPath);
    for (const input of spec.inputs) {
      command.input(input.path);
      if (input.options.length > 0) command.inputOptions(...noSplit(input.options));
    }
    if (spec.filterGraph) command.complexFilter(spec.filterGraph);
    for (const output of spec.outputs) {
      command.output(output.path);
      if (output.options.length > 0) command.outputOptions(...noSplit(output.options));
    }
    command.addOptions(...noSplit(GLOBAL_OPTIONS));
    return command;
  }

  function toArgs(spec: FfmpegCommandSpec): string[] {
    // biome-ignore lint/suspicious/noExplicitAny: fluent-ffmpeg's argument builder is private API.
    return (build(spec) as any)._getArguments() as string[];
  }

  function run(spec: FfmpegCommandSpec, runOptions: RunOptions): Promise<RunResult> {
    const { signal, onProgress } = runOptions;
    if (signal?.aborted) return Promise.reject(new FfmpegError('aborted', 'ffmpeg was not started: aborted'));
    return new Promise<RunResult>((resolve, reject) => {
      const command = build(spec, runOptions.cwd);
      let aborted = false;
      let started = false;
      let killTimer: NodeJS.Timeout | undefined;
      const terminate = () => {
        // biome-ignore lint/suspicious/noExplicitAny: the child process handle is not in the typings.
        const proc = (command as any).ffmpegProc as import('node:child_process').ChildProcess | undefined;
        if (!proc) return;
        proc.kill('SIGTERM');
        killTimer = setTimeout(() => proc.kill('SIGKILL'), killGraceMs);
        killTimer.unref();
      };
      const onAbort = () => {
        aborted = true;
        if (started) terminate();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const settle = () => {
        signal?.removeEventListener('abort', onAbort);
        clearTimeout(killTimer);
      };
      command.on('start', () => {
        started = true;
        // An abort that landed while fluent-ffmpeg was still preparing: stop the process now.
        if (aborted) terminate();
      });
      // The final stats line is printed after the last packet is written: its time= is what the
      // output holds, so the job needs no second ffprobe pass to learn it.
      let encodedS: number | null = null;
      command.on('stderr', (line: string) => {
        const seconds = parseTimemark(line);
        if (seconds === null) return;
        encodedS = seconds;
        onProgress?.(seconds);
      });
      command.on('end', () => {
        settle();
        if (aborted) reject(new FfmpegError('aborted', 'ffmpeg was stopped'));
        else resolve({ encodedS });
      });
      command.on('error', (error: Error, _stdout: string | null, stderr: string | null) => {
        settle();
        const stderrTail = tail(stderr ?? '');
        if (aborted) reject(new FfmpegError('aborted', 'ffmpeg was stopped', stderrTail));
        else if (/killed with signal/.test(error.message))
          reject(new FfmpegError('signal', error.message, stderrTail));
        else if (/exited with code/.test(error.message))
          reject(new FfmpegError('exit', error.message, stderrTail));
        else reject(new FfmpegError('spawn', error.message, stderrTail));
      });
      command.run();
    });
  }

  function probe(path: string, probeOptions: ProbeOptions) {
    const args = [
      '-v',
      'error',
      ...pinnedInputOptions(probeOptions.demuxer),
      '-print_format',
      'json',
      '-show_format',
      '-show_streams',
      path,
    ];
    return new Promise<ProbeResult>((resolve, reject) => {
      execFile(
        ffprobePath,
        args,
        {
          timeout: probeOptions.timeoutMs ?? probeTimeoutMs,
          killSignal: 'SIGKILL',
          maxBuffer: 4 * 1024 * 1024,
          signal: probeOptions.signal,
        },
        (error, stdout, stderr) => {
          if (error) {
            const code = (error as NodeJS.ErrnoException).code;
            const killed = (error as { killed?: boolean }).killed;
            if (code === 'ENOENT' || killed || error.name === 'AbortError') {
              reject(new ProbeError('tool', `ffprobe did not finish: ${error.message}`));
            } else {
              reject(
                new ProbeError('unreadable', tail(String(stderr), 3) || 'ffprobe could not read the file'),
              );
            }
            return;
          }
          try {
            const parsed = JSON.parse(String(stdout)) as {
              format?: Record<string, unknown>;
              streams?: Record<string, unknown>[];
            };
            resolve({
              formatName: String(parsed.format?.format_name ?? ''),
              durationS: toNumber(parsed.format?.duration) ?? null,
              sizeBytes: toNumber(parsed.format?.size) ?? null,
              streams: (parsed.streams ?? []).map((s) => ({
                index: Number(s.index),
                codecType: String(s.codec_type ?? ''),
                codecName: String(s.codec_name ?? ''),
                width: toNumber(s.width),
                height: toNumber(s.height),
                durationS: toNumber(s.duration),
                frames: toNumber(s.nb_frames),
              })),
            });
          } catch {
            reject(new ProbeError('unreadable', 'ffprobe output was not JSON'));
          }
        },
      );
    });
  }

  return { run, probe, toArgs, ffmpegPath };
}
