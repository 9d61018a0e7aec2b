// The viewer in real headless Chromium (Debian's, driven by playwright-core): a trace sent by the
// test appears in the list, its waterfall opens, clicking a span shows its attributes, and an
// attribute holding markup is shown as text (no dialog fires).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { trace, context, SpanKind } from '@opentelemetry/api';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { startServe } from './skein.mjs';

const XSS = '<script>alert(1)</script><img src=x onerror="alert(2)">';
let serve;
let browser;

before(async () => {
  serve = await startServe();
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
           '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
});
after(async () => {
  await browser?.close();
  await serve?.stop();
});

test('a trace appears, its waterfall opens, a span shows its attributes as text', async () => {
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'web-e2e' }),
    spanProcessors: [new SimpleSpanProcessor(new OTLPTraceExporter({ url: serve.url }))],
  });
  const tracer = provider.getTracer('web-e2e');
  const root = tracer.startSpan('agent run', { kind: SpanKind.SERVER });
  const child = tracer.startSpan('llm call', {
    attributes: { 'gen_ai.request.model': 'tiny-1', 'honeyhive_inputs.prompt': XSS,
                  'user.note': XSS, 'honeyhive_outputs.answer': '{"text":"hi"}' },
  }, trace.setSpan(context.active(), root));
  child.end();
  root.end();
  await provider.forceFlush();
  await provider.shutdown();
  const traceId = root.spanContext().traceId;
  const childId = child.spanContext().spanId;

  const page = await browser.newPage();
  const dialogs = [];
  page.on('dialog', async (d) => { dialogs.push(d.message()); await d.dismiss(); });
  await page.goto(serve.base + '/');

  const row = page.locator(`tr[data-trace-id="${traceId}"]`);
  await row.waitFor({ timeout: 10000 });
  assert.match(await row.textContent(), /agent run/);
  await row.click();

  await page.locator('.wf-row').first().waitFor();
  assert.equal(await page.locator('.wf-row').count(), 2);
  assert.match(await page.locator('#trace-head').textContent(), /agent run/);
  const bars = await page.locator('.wf-bar').count();
  assert.equal(bars, 2);

  await page.locator(`.wf-row[data-span-id="${childId}"]`).click();
  const panel = page.locator('#span-panel');
  await panel.locator('h3').waitFor();
  assert.equal(await panel.locator('h3').textContent(), 'llm call');
  const note = panel.locator('tr[data-key="user.note"] td').nth(1);
  assert.equal(await note.textContent(), XSS);  // the markup, as text
  assert.match(await panel.locator('[data-namespace="gen_ai"]').textContent(), /tiny-1/);
  const inputs = await panel.locator('[data-namespace="honeyhive_inputs"] pre').textContent();
  assert.deepEqual(JSON.parse(inputs), { prompt: XSS });
  const outputs = await panel.locator('[data-namespace="honeyhive_outputs"] pre').textContent();
  assert.deepEqual(JSON.parse(outputs), { answer: { text: 'hi' } });
  assert.equal(await page.locator('#span-panel script, #span-panel img').count(), 0);
  await page.waitForTimeout(300);
  assert.deepEqual(dialogs, []);

  // Sessions and stats views render.
  await page.goto(serve.base + '/#/stats');
  await page.locator('#stats-table tr').first().waitFor();
  assert.match(await page.locator('#stats-table').textContent(), /spans stored/);
  await page.close();
});
