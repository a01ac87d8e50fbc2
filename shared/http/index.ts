export type { AppEnv, RequestBindings, RequestContext } from './app-env.ts';
export { maxBody } from './body-limit.ts';
export { type CreateServiceOptions, createService } from './create-service.ts';
export {
  DEFAULT_PAGE_LIMIT,
  decodeCursor,
  encodeCursor,
  MAX_PAGE_LIMIT,
  type Page,
  type PageCursor,
  pageOf,
  pageQueryShape,
  SinceParam,
} from './cursor-page.ts';
export { errorHandler, notFoundHandler } from './error-handlers.ts';
export { declaredBodyLength, readBodyBytes, readBodyText, requestHeader } from './node-request.ts';
export {
  createOpenApiDocument,
  headerRef,
  JSON_TYPE,
  type JsonObject,
  jsonContent,
  jsonSchema,
  type OpenApiDocument,
  type OpenApiInit,
  PROBLEM_RESPONSES,
  PROBLEM_TYPE,
  pageSchema,
  parametersOf,
  problemResponse,
  problems,
  RATE_LIMIT_HEADERS,
  schemaRef,
} from './openapi-document.ts';
export {
  type DocsAssetLoader,
  type DocsAssetName,
  registerOpenApiRoutes,
  swaggerUiFromNodeModules,
} from './openapi-routes.ts';
export { type FieldError, ProblemError, type ProblemInit, problem } from './problem.ts';
export { requestIdOf, requestLogger, withRequestContext } from './request-context.ts';
export { requireBearer, safeEqual } from './require-bearer.ts';
export { type RunningServer, type ServeNodeOptions, serveNode } from './serve-node.ts';
export { storeUnavailable } from './store-unavailable.ts';
export { type InputSource, parseInput, parseJsonText, readJsonBody } from './validation.ts';
export { type WebhookDeliveryMetrics, webhookDeliveryMetrics } from './webhook-delivery-metrics.ts';
