export { dependencyReadiness, opsRoutes, startOpsServer } from './health';
export type { DependencyCheck, HealthReport, OpsServer, OpsServerOptions } from './health';
export { onShutdown } from './lifecycle';
export { createLogger } from './logger';
export type { Logger } from './logger';
export { createRegistry } from './metrics';
export { formatTraceparent, idOnlyTracing, parseTraceparent, startTracing, traceIdOf } from './tracing';
export type { ParsedTraceparent, SpanKindName, StartSpanOptions, TraceSpan, Tracing, TracingConfig } from './tracing';
