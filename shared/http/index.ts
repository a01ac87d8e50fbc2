export type { AppEnv } from './app-env.ts';
export { maxBody } from './body-limit.ts';
export { type CreateServiceOptions, createService } from './create-service.ts';
export { errorHandler, notFoundHandler } from './error-handlers.ts';
export { type FieldError, ProblemError, type ProblemInit, problem } from './problem.ts';
export { requestContext } from './request-context.ts';
export { requireBearer, safeEqual } from './require-bearer.ts';
export { type RunningServer, type ServeNodeOptions, serveNode } from './serve-node.ts';
export { type InputSource, parseInput, parseJsonText, readJsonBody } from './validation.ts';
