// Supabase Edge Function `voice-bridge`: serves the service app under /voice-bridge.
import { serveVoiceBridge } from '../_shared/voice-bridge.ts';

await serveVoiceBridge();
