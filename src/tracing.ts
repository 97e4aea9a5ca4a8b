// OpenTelemetry tracing, on only when OTEL_EXPORTER_OTLP_ENDPOINT is set. It must start before
// the modules it instruments load (pg, http, fastify), so src/server.ts runs it first and
// imports the app afterwards. Spans go over OTLP/HTTP; the exporter reads the standard OTEL_*
// variables (endpoint, headers, timeout) itself.
import { register } from 'node:module'
import type { AppConfig } from './config.js'

export interface Tracing {
  /** Flushes the spans still buffered and stops exporting. */
  shutdown(): Promise<void>
}

/** Requests not worth a trace: probes and scrapes, many times a minute. */
const UNTRACED = new Set(['/healthz', '/readyz', '/metrics'])

export async function startTracing(config: Pick<AppConfig, 'serviceName'>, serviceVersion: string): Promise<Tracing> {
  // ESM imports (pg from our modules) are instrumented through import-in-the-middle's loader hook.
  register('@opentelemetry/instrumentation/hook.mjs', import.meta.url)
  const [{ NodeTracerProvider, BatchSpanProcessor }, { OTLPTraceExporter }, { resourceFromAttributes }, { registerInstrumentations },
    { HttpInstrumentation }, { PgInstrumentation }, { FastifyOtelInstrumentation }] = await Promise.all([
    import('@opentelemetry/sdk-trace-node'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/instrumentation'),
    import('@opentelemetry/instrumentation-http'),
    import('@opentelemetry/instrumentation-pg'),
    import('@fastify/otel'),
  ])
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': config.serviceName, 'service.version': serviceVersion }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())],
  })
  provider.register()
  registerInstrumentations({
    instrumentations: [
      new HttpInstrumentation({ ignoreIncomingRequestHook: (request) => UNTRACED.has((request.url ?? '').split('?')[0]!) }),
      new PgInstrumentation({ requireParentSpan: true }),
      // Every Fastify instance made from now on gets the plugin: route spans with http.route.
      new FastifyOtelInstrumentation({ registerOnInitialization: true, ignorePaths: (options: { url: string }) => UNTRACED.has(options.url) }),
    ],
  })
  return { shutdown: () => provider.shutdown() }
}
