import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createMediaFixtures,
  type MediaFixtures,
} from '../../../support/video-orchestrator/media-fixtures.ts';
import {
  type StorageSimulator,
  startStorageSimulator,
} from '../../../support/video-orchestrator/supabase-storage-simulator.ts';
import { listFiles } from '../../../support/video-orchestrator/temp-files.ts';
import { startVideoHarness, type VideoHarness } from '../../../support/video-orchestrator/video-harness.ts';

const SERVICE_KEY = 'sim-service-role-key';

describe('video orchestrator on Supabase Storage (simulated)', () => {
  let h: VideoHarness;
  let sim: StorageSimulator;
  let media: MediaFixtures;

  beforeAll(async () => {
    sim = await startStorageSimulator({ serviceKey: SERVICE_KEY, bucket: 'videos' });
    h = await startVideoHarness({
      env: {
        STORAGE_DRIVER: 'supabase',
        SUPABASE_URL: sim.url,
        SUPABASE_SERVICE_ROLE_KEY: SERVICE_KEY,
        SUPABASE_STORAGE_BUCKET: 'videos',
        // A service-role key makes the service live: no public dev secrets.
        CALLBACK_SIGNING_SECRET: 'whsec_c3VwYWJhc2Utc3RvcmFnZS10ZXN0LXNlY3JldCE=',
      },
    });
    media = await createMediaFixtures(join(h.dataDir, 'fixtures'));
  });
  afterAll(async () => {
    await h?.close();
    await sim?.close();
  });

  it('stores assets and outputs in the bucket and redirects output requests to a signed URL; an upload outage is retried', async () => {
    const image = await h.upload(media.jpg);
    expect(sim.objects.has(`videos/assets/${image.id}`)).toBe(true);
    sim.failUploads(1);
    const response = await h.createRender({
      output: { width: 160, height: 120, fps: 10 },
      clips: [{ type: 'image', src: image.src, duration: 1 }],
    });
    const { id } = (await response.json()) as { id: string };
    const done = await h.waitForStatus(id, ['completed', 'failed']);
    expect(done).toMatchObject({ status: 'completed', attempts: 2 });
    expect(sim.objects.get(`videos/renders/${id}/output.mp4`)?.contentType).toBe('video/mp4');

    const redirect = await fetch(done.output!.url, { redirect: 'manual' });
    expect(redirect.status).toBe(302);
    const signed = redirect.headers.get('location')!;
    expect(
      signed.startsWith(`${sim.url}/storage/v1/object/sign/videos/renders/${id}/output.mp4?token=`),
    ).toBe(true);
    const video = await fetch(signed);
    expect(video.status).toBe(200);
    expect(Buffer.from(await video.arrayBuffer()).length).toBe(done.output!.sizeBytes);
    expect(await listFiles(h.config.tempDir)).toEqual([]);
  });
});
