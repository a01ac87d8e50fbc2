import type { Logger } from '../observability/logger.ts';

/** Hono context variables every service app has. */
export type AppEnv = {
  Variables: {
    requestId: string;
    /** The service logger bound to this request's id. */
    logger: Logger;
  };
};
