import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NOT_PLAIN, canonicalJson, canonicalOrder } from './canonical';
import { canonicalEvent, canonicalEventReference, type ChainedFields } from './chain';

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

	describe('the fast path is byte for byte the reference', () => {
		// Hostile keys: array-index-like ones (which engines list first), "__proto__", "toJSON",
		// the empty key, control characters, astral and combining characters, lone surrogates.
		const hostileKey = fc.oneof(
			fc.constantFrom(
				'0',
				'1',
				'9',
				'10',
				'01',
				'-1',
				'1.5',
				'4294967294',
				'4294967295',
				'9007199254740993',
				'__proto__',
				'toJSON',
				'constructor',
				'',
				'a',
				'A',
				'é',
				'e\u0301',
				'😀',
				'\ufb33',
				'\u2400',
				'\n',
				'\u001f',
				'\u007f',
				'\u2028',
				'\ud800',
				'\udfff'
			),
			fc.string({ unit: 'binary', maxLength: 6 })
		);
		const hostileString = fc.oneof(
			fc.string({ unit: 'binary' }),
			fc.string({ unit: 'grapheme' }),
			fc.constantFrom('=HYPERLINK("x")', '<script>', '\r\n\t\b\f', '\u0000', '"\\', '宇宙')
		);
		const hostileNumber = fc.oneof(
			fc.double({ noNaN: true, noDefaultInfinity: true }),
			fc.integer(),
			fc.constantFrom(-0, 0, 1e21, 1e-7, 5e-324, 0.1 + 0.2, 2 ** 53, -(2 ** 53) - 2, 123456789.125)
		);
		const { value: hostileJson } = fc.letrec((tie) => ({
			value: fc.oneof(
				{ depthSize: 'small', withCrossShrink: true },
				fc.constant(null),
				fc.boolean(),
				hostileNumber,
				hostileString,
				fc.array(tie('value'), { maxLength: 4 }),
				fc.dictionary(hostileKey, tie('value'), { maxKeys: 6 })
			)
		}));
		const text = fc.option(hostileString, { nil: null });
		const event = fc.record({
			seq: fc.integer({ min: 1, max: 2 ** 40 }),
			occurredAt: fc.constantFrom('2026-01-02T03:04:05.123456Z', '1999-12-31T23:59:59.000000Z'),
			actorId: fc.option(fc.integer({ min: 1, max: 2 ** 31 - 1 }), { nil: null }),
			actorName: text,
			actorRoles: fc.array(hostileString, { maxLength: 3 }),
			ip: text,
			userAgent: text,
			requestId: text,
			action: hostileString,
			targetType: text,
			targetId: text,
			outcome: fc.constantFrom('allowed', 'denied', 'failed'),
			details: fc.dictionary(hostileKey, hostileJson, { maxKeys: 8 })
		}) as fc.Arbitrary<ChainedFields>;
		const fields = (e: ChainedFields): ChainedFields => ({
			seq: e.seq,
			occurredAt: e.occurredAt,
			actorId: e.actorId,
			actorName: e.actorName,
			actorRoles: e.actorRoles,
			ip: e.ip,
			userAgent: e.userAgent,
			requestId: e.requestId,
			action: e.action,
			targetType: e.targetType,
			targetId: e.targetId,
			outcome: e.outcome,
			details: e.details
		});

		it('for generated hostile events, as built and as read back through JSON', () => {
			fc.assert(
				fc.property(event, (e) => {
					const reference = canonicalEventReference(e);
					expect(canonicalEvent(e)).toBe(reference);
					expect(canonicalJson(fields(e))).toBe(reference);
					// What the drivers hand back: jsonb parsed by JSON.parse, key order changed.
					const read = JSON.parse(JSON.stringify(e)) as ChainedFields;
					expect(canonicalEvent(read)).toBe(canonicalEventReference(read));
					expect(canonicalEvent(read)).toBe(reference);
					// Also with the details' keys in jsonb's order (shorter keys first).
					const reordered = JSON.parse(
						JSON.stringify(e.details, (_, v: unknown) =>
							v && typeof v === 'object' && !Array.isArray(v)
								? Object.fromEntries(
										Object.entries(v).sort(
											([a], [b]) => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0)
										)
									)
								: v
						)
					) as Record<string, unknown>;
					expect(canonicalEvent({ ...e, details: reordered })).toBe(reference);
				}),
				{ numRuns: 3000 }
			);
		});

		it('for values where the native writer would differ, by taking the reference path', () => {
			const base: ChainedFields = {
				seq: 1,
				occurredAt: '2026-01-02T03:04:05.123456Z',
				actorId: null,
				actorName: null,
				actorRoles: [],
				ip: null,
				userAgent: null,
				requestId: null,
				action: 'document.view',
				targetType: null,
				targetId: null,
				outcome: 'allowed',
				details: {}
			};
			const indexKeys = JSON.parse('{"b":1,"10":2,"9":3,"a":{"2":[],"11":{}}}') as Record<
				string,
				unknown
			>;
			const proto = JSON.parse('{"z":1,"__proto__":{"y":2,"x":1}}') as Record<string, unknown>;
			const cases: Record<string, unknown>[] = [
				indexKeys,
				proto,
				{ when: new Date(0) },
				{ missing: undefined, kept: 1 },
				{ list: [1, undefined] },
				{ nan: Number.NaN },
				{ infinite: Number.POSITIVE_INFINITY },
				{ f: () => 1 },
				{ custom: { toJSON: () => 'x' } },
				{ nested: Object.create({ inherited: 1 }) as object }
			];
			for (const details of cases) {
				const e = { ...base, details };
				let reference: string | Error;
				try {
					reference = canonicalEventReference(e);
				} catch (error) {
					reference = error as Error;
				}
				if (reference instanceof Error) expect(() => canonicalEvent(e)).toThrow(TypeError);
				else expect(canonicalEvent(e)).toBe(reference);
			}
			expect(canonicalEvent({ ...base, details: indexKeys })).toBe(
				'{"action":"document.view","actorId":null,"actorName":null,"actorRoles":[],"details":{"10":2,"9":3,"a":{"11":{},"2":[]},"b":1},"ip":null,"occurredAt":"2026-01-02T03:04:05.123456Z","outcome":"allowed","requestId":null,"seq":1,"targetId":null,"targetType":null,"userAgent":null}'
			);
			expect(canonicalOrder(indexKeys)).toBe(NOT_PLAIN);
			expect(canonicalEvent({ ...base, details: proto })).toContain(
				'"details":{"__proto__":{"x":1,"y":2},"z":1}'
			);
		});
	});
});
