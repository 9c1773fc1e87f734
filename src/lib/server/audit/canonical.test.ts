import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from './canonical';
import { canonicalEvent, type ChainedFields } from './chain';

const json = fc.jsonValue({ maxDepth: 3 });

describe('canonical serialisation', () => {
	it('sorts keys by UTF-16 code units and writes no whitespace (RFC 8785)', () => {
		expect(canonicalJson({ b: 1, a: [true, null, 'x'], '€': 0.5, A: { z: -0, y: 1e21 } })).toBe(
			'{"A":{"y":1e+21,"z":0},"a":[true,null,"x"],"b":1,"€":0.5}'
		);
		expect(canonicalJson({ '\ud83d\ude00': 1, '\ufb33': 2 })).toBe('{"\ud83d\ude00":1,"\ufb33":2}');
	});

	it('is the same for any key order and survives a JSON round trip unchanged', () => {
		fc.assert(
			fc.property(json, (value) => {
				const once = canonicalJson(value);
				expect(canonicalJson(JSON.parse(once))).toBe(once);
				expect(canonicalJson(JSON.parse(JSON.stringify(value)))).toBe(once);
			})
		);
	});

	it('writes an event exactly as the general canonical form of its fields', () => {
		const text = fc.option(fc.string({ unit: 'grapheme' }), { nil: null });
		const event = fc.record({
			seq: fc.integer({ min: 1, max: 2 ** 40 }),
			occurredAt: fc.constant('2026-01-02T03:04:05.123456Z'),
			actorId: fc.option(fc.integer({ min: 1, max: 2 ** 31 - 1 }), { nil: null }),
			actorName: text,
			actorRoles: fc.array(fc.string()),
			ip: text,
			userAgent: text,
			requestId: text,
			action: fc.string(),
			targetType: text,
			targetId: text,
			outcome: fc.constantFrom('allowed', 'denied', 'failed'),
			details: fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 2 }))
		}) as fc.Arbitrary<ChainedFields>;
		fc.assert(
			fc.property(event, (e) => {
				expect(canonicalEvent(e)).toBe(canonicalJson({ ...e }));
			})
		);
	});
});
