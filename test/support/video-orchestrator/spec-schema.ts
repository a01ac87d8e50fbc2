import { createRenderSpecSchema } from '../../../services/video-orchestrator/schemas.ts';

/** The render spec schema with the limits the unit and integration tests are written against. */
export const testSpecSchema = createRenderSpecSchema({
  maxClips: 5,
  maxDurationS: 30,
  maxWidth: 1920,
  maxHeight: 1920,
  maxCaptions: 10,
  maxCaptionChars: 300,
  allowedHosts: [],
});

/** An asset reference that passes the schema (the plan never looks it up). */
export const TEST_ASSET = 'asset:5b0f2a57-3c8e-4c43-9a1b-2f4a7e1d9c10';
