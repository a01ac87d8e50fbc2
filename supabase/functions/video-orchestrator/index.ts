// Supabase Edge Function `video-orchestrator`: serves the service API under /video-orchestrator (renders run on Node).
import { serveVideoOrchestrator } from '../_shared/video-orchestrator.ts';

await serveVideoOrchestrator();
