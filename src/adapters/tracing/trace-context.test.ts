import { describe, expect, it } from 'vitest';
import { childOf, newSpanId, newTrace, parseTraceparent, formatTraceparent } from './trace-context.js';

describe('new trace and span ids', () => {
  it('are well formed and never repeat, across many refills of the random pool', () => {
    const traces = new Set<string>();
    const spans = new Set<string>();
    for (let i = 0; i < 20_000; i++) {
      const t = newTrace();
      expect(parseTraceparent(formatTraceparent(t))).toEqual(t);
      traces.add(t.traceId);
      spans.add(t.spanId);
      spans.add(newSpanId());
      const child = childOf(t);
      expect(child.traceId).toBe(t.traceId);
      spans.add(child.spanId);
    }
    expect(traces.size).toBe(20_000);
    expect(spans.size).toBe(60_000);
  });
});
