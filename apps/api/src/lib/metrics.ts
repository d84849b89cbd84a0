/** Prometheus metrics of the API process, served at /metrics. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export function createApiMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'opsconductor_api_' });
  return {
    registry,
    httpRequests: new Counter({ name: 'opsconductor_api_http_requests_total', help: 'HTTP requests', labelNames: ['method', 'route', 'status'], registers: [registry] }),
    httpDuration: new Histogram({
      name: 'opsconductor_api_http_request_duration_seconds',
      help: 'HTTP request duration (long-polls and streams excluded)',
      labelNames: ['method', 'route'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    agentPolls: new Gauge({ name: 'opsconductor_api_agent_long_polls', help: 'Agent long-polls waiting now', registers: [registry] }),
    agentResults: new Counter({ name: 'opsconductor_api_agent_results_total', help: 'Command results received from agents', labelNames: ['status', 'duplicate'], registers: [registry] }),
    outputBytes: new Counter({ name: 'opsconductor_api_agent_output_bytes_total', help: 'Command output bytes received', registers: [registry] }),
    sseStreams: new Gauge({ name: 'opsconductor_api_sse_streams', help: 'Open job-run event streams', registers: [registry] }),
  };
}
export type ApiMetrics = ReturnType<typeof createApiMetrics>;
