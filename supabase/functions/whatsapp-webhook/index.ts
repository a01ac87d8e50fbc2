// Supabase Edge Function `whatsapp-webhook`: serves the service app under /whatsapp-webhook.
import { serveWhatsAppWebhook } from '../_shared/whatsapp-webhook.ts';

await serveWhatsAppWebhook();
