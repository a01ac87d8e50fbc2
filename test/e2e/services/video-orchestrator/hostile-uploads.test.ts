import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHostileMedia, type HostileMedia } from '../../../support/video-orchestrator/hostile-media.ts';
import {
  createMediaFixtures,
  type MediaFixtures,
} from '../../../support/video-orchestrator/media-fixtures.ts';
import { startVideoHarness, type VideoHarness } from '../../../support/video-orchestrator/video-harness.ts';

describe('video orchestrator: playlists and concat lists are never read as inputs', () => {
  let h: VideoHarness;
  let hostile: HostileMedia;
  let media: MediaFixtures;

  beforeAll(async () => {
    h = await startVideoHarness({ withWorker: false });
    hostile = await createHostileMedia(join(h.dataDir, 'hostile'));
    media = await createMediaFixtures(join(h.dataDir, 'media'));
  });
  afterAll(() => h?.close());

  const assetCount = async () =>
    Number((await h.db.query<{ n: number }>('select count(*)::int as n from video_assets'))[0].n);

  async function post(path: string): Promise<Response> {
    const form = new FormData();
    form.append('file', new Blob([await readFile(path)]), basename(path));
    return h.api('/assets', { method: 'POST', body: form });
  }

  it('refuses an HLS playlist disguised to sniff as MP3 with 422: read as MP3 only, the canary untouched', async () => {
    const before = await assetCount();
    const res = await post(hostile.disguisedPlaylist);
    expect(res.status).toBe(422);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    const body = (await res.json()) as { errors: { field: string; message: string }[] };
    expect(body.errors[0].field).toBe('body.file');
    expect(JSON.stringify(body)).not.toMatch(/canary|hls|7\.5/);
    expect(await assetCount()).toBe(before);
  });

  it('refuses an .m3u8 with file: entries and an ffconcat list with 415, storing nothing', async () => {
    const before = await assetCount();
    for (const path of [hostile.m3u8, hostile.ffconcat]) {
      const res = await post(path);
      expect(res.status).toBe(415);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
    }
    expect(await assetCount()).toBe(before);
  });

  it('a render fails clearly when the disguised file reaches the worker unprobed (edge upload)', async () => {
    // Where the API has no ffprobe (the edge function) the upload is stored unprobed: the worker's
    // pinned probe is what refuses it.
    await h.restart({ withWorker: false, env: { FFPROBE_PATH: '/nonexistent/ffprobe' } });
    const res = await post(hostile.disguisedPlaylist);
    expect(res.status).toBe(201);
    const audio = (await res.json()) as { src: string };
    const image = await h.upload(media.jpg);
    await h.restart({ withWorker: true, env: {} });
    const created = await h.createRender({
      output: { width: 160, height: 120, fps: 10 },
      clips: [{ type: 'image', src: image.src, duration: 1 }],
      audio: { src: audio.src },
    });
    expect(created.status).toBe(202);
    const { id } = (await created.json()) as { id: string };
    const done = await h.waitForStatus(id, ['completed', 'failed']);
    expect(done.status).toBe('failed');
    expect(done.error).toMatchObject({ code: 'invalid_input' });
    expect(JSON.stringify(done.error)).toMatch(/not a readable media file/);
    expect(JSON.stringify(done.error)).not.toMatch(/canary/);
  });
});
