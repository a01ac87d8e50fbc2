import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { LOAD_DEFAULTS } from '../../load/common/config.js';
import { startProcess } from '../../load/runner/system.ts';
import type { LoadRequest } from '../../load/scenarios/flows.js';
import { sanitizeHost } from '../../services/video-orchestrator/worker-identity.ts';
import type { ChaosContext, Scenario } from '../chaos-context.ts';
import { assetUpload, send, waitUntil } from '../traffic.ts';

interface RenderView {
  id: string;
  status: string;
  progress: number;
  attempts: number;
  output: { url: string } | null;
}

/**
 * The render worker SIGKILLed mid-render (its ffmpeg left running): a new worker sweeps the dead one's
 * temp directory (and its ffmpeg), recovers the attempt, and the render completes once.
 */
export const workerKill: Scenario = {
  name: 'worker-kill',
  async run(ctx: ChaosContext) {
    const api = ctx.urls['video-orchestrator'];
    const auth = { Authorization: `Bearer ${LOAD_DEFAULTS.VIDEO_API_KEY}` };
    const worker = ctx.system.processes.find(
      (p) => p.spec.name === 'render-worker' && p.child.exitCode === null,
    );
    if (!worker) throw new Error('no render worker running');
    const upload = await send(api, assetUpload().request, '');
    const assetId = (JSON.parse(upload.body) as { id: string }).id;
    // Long enough to be caught mid-render on a busy machine.
    const request: LoadRequest = {
      service: 'video-orchestrator',
      method: 'POST',
      path: '/renders',
      name: 'POST /renders',
      headers: { 'Content-Type': 'application/json', ...auth },
      body: JSON.stringify({
        output: { width: 640, height: 360, fps: 30, format: 'mp4' },
        clips: [{ type: 'image', src: `asset:${assetId}`, duration: 60 }],
      }),
      expected: [202],
    };
    const created = await send(api, request, '');
    const { id } = JSON.parse(created.body) as { id: string };
    const view = async () =>
      (await (await fetch(`${api}/renders/${id}`, { headers: auth })).json()) as RenderView;
    const running = await waitUntil(
      async () => {
        const v = await view();
        return v.status === 'processing' && v.progress > 0 ? v : null;
      },
      60_000,
      50,
    );
    if (!running) throw new Error(`render ${id} never reached processing with progress`);
    const deadPid = worker.child.pid!;
    ctx.log(`SIGKILL render worker ${deadPid} at ${running.progress}%`);
    worker.child.kill('SIGKILL');
    await worker.exited;

    const replacement = await startProcess({ ...worker.spec, name: 'render-worker-2' }, ctx.logDir);
    ctx.system.processes.push(replacement);
    const done = await waitUntil(
      async () => {
        const v = await view();
        return ['completed', 'failed', 'canceled'].includes(v.status) ? v : null;
      },
      180_000,
      250,
    );
    const tempRoot = join(worker.spec.env.DATA_DIR, 'video-orchestrator', 'tmp');
    const tempDir = join(tempRoot, `${sanitizeHost(hostname())}--${deadPid}`);
    const leftFiles = (
      await readdir(tempRoot, { recursive: true, withFileTypes: true }).catch(() => [])
    ).filter((entry) => entry.isFile());
    let outputOk = false;
    if (done?.output?.url) {
      const res = await fetch(
        done.output.url.startsWith('http') ? done.output.url : `${api}${done.output.url}`,
        {
          headers: auth,
        },
      );
      await res.body?.cancel();
      outputOk = res.status === 200;
    }
    return {
      checks: {
        'render completed after the kill': done?.status === 'completed',
        'completed once (a second attempt, one output)': (done?.attempts ?? 0) >= 2 && outputOk,
        "dead worker's temp directory removed": !existsSync(tempDir),
        'no temp file left': leftFiles.length === 0,
        'replacement worker still running': replacement.child.exitCode === null,
      },
      figures: {
        renderId: id,
        killedAtProgress: running.progress,
        attempts: done?.attempts,
        status: done?.status,
      },
    };
  },
};
