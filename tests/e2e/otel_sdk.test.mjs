// A real OpenTelemetry client: the JS SDK sends spans to `skein serve` with both OTLP exporters
// (http/protobuf and http/json); the test reads ids, parents, attributes and events back.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { trace, context, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { startServe } from './skein.mjs';

let serve;
before(async () => { serve = await startServe(); });
after(async () => { await serve.stop(); });

async function sendTrace(Exporter, service) {
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': service, 'deployment.environment': 'e2e' }),
    spanProcessors: [new SimpleSpanProcessor(new Exporter({ url: serve.url }))],
  });
  const tracer = provider.getTracer('e2e-scope', '9.9.9');
  const root = tracer.startSpan('checkout', {
    kind: SpanKind.SERVER,
    attributes: { 'http.request.method': 'POST', 'honeyhive.session_id': `session-${service}`,
                  'honeyhive_user_properties.user_id': 'user-7', count: 3, ratio: 0.5, ok: true,
                  tags: ['x', 'y'] },
  });
  const ctx = trace.setSpan(context.active(), root);
  const child = tracer.startSpan('charge card', { kind: SpanKind.CLIENT,
                                                  attributes: { 'honeyhive_inputs.amount': 42 } }, ctx);
  child.addEvent('retry', { attempt: 2 });
  child.setStatus({ code: SpanStatusCode.ERROR, message: 'card declined' });
  child.end();
  root.end();
  await provider.forceFlush();
  await provider.shutdown();
  return { traceId: root.spanContext().traceId, rootId: root.spanContext().spanId,
           childId: child.spanContext().spanId };
}

for (const [label, Exporter] of [['http/protobuf', ProtoExporter], ['http/json', JsonExporter]]) {
  test(`OpenTelemetry JS ${label} exporter into skein serve`, async () => {
    const service = `e2e-${label.replace('/', '-')}`;
    const ids = await sendTrace(Exporter, service);

    const { spans } = await serve.api(`/api/traces/${ids.traceId}`);
    assert.equal(spans.length, 2);
    const root = spans.find((s) => s.name === 'checkout');
    const child = spans.find((s) => s.name === 'charge card');
    assert.equal(root.trace_id, ids.traceId);
    assert.equal(root.span_id, ids.rootId);
    assert.equal(root.parent_span_id, '');
    assert.equal(child.span_id, ids.childId);
    assert.equal(child.parent_span_id, ids.rootId);
    assert.equal(root.kind, 2);
    assert.equal(child.kind, 3);
    assert.equal(child.status, 2);
    assert.equal(child.status_message, 'card declined');
    assert.equal(root.service, service);
    assert.equal(root.session_id, `session-${service}`);
    assert.equal(root.user_id, 'user-7');
    assert.equal(root.scope_name, 'e2e-scope');
    assert.equal(root.attributes['http.request.method'], 'POST');
    assert.equal(root.attributes.count, 3);
    assert.equal(root.attributes.ratio, 0.5);
    assert.equal(root.attributes.ok, true);
    assert.deepEqual(root.attributes.tags, ['x', 'y']);
    assert.equal(root.resource['deployment.environment'], 'e2e');
    assert.equal(child.events.length, 1);
    assert.equal(child.events[0].name, 'retry');
    assert.equal(child.events[0].attributes.attempt, 2);

    // The list, filtered, and the CLI over the same store.
    const { traces } = await serve.api(`/api/traces?service=${encodeURIComponent(service)}`);
    assert.equal(traces.length, 1);
    assert.equal(traces[0].trace_id, ids.traceId);
    assert.equal(traces[0].name, 'checkout');
    const shown = JSON.parse(serve.cli('show', ids.traceId, '--json'));
    assert.equal(shown.spans.length, 2);
    const tree = serve.cli('show', ids.traceId, '--no-color');
    assert.match(tree, /checkout/);
    assert.match(tree, /charge card/);
    const transcript = serve.cli('session', `session-${service}`, '--no-color');
    assert.match(transcript, /checkout/);
  });
}
