import { describe, expect, it } from 'vitest';
import { invalidAuditFields, isLocalTime, parseAuditFilter } from './audit';

const parse = (query: string) => parseAuditFilter(new URLSearchParams(query));

describe('the time range of the audit filter', () => {
	it('accepts real dates and times, with or without seconds', () => {
		for (const value of [
			'2026-03-01',
			'2026-03-01T09:00',
			'2026-12-31T23:59:59',
			'2024-02-29',
			'2000-02-29T00:00',
			'1000-01-01',
			'9999-12-31'
		]) {
			expect(isLocalTime(value), value).toBe(true);
			expect(parse(`from=${value}&to=${value}`).data, value).toEqual({ from: value, to: value });
		}
	});

	it.each([
		['a month that does not exist', '2026-13-01'],
		['month zero', '2026-00-10'],
		['day zero', '2026-03-00'],
		['a day past the end of the month', '2026-02-31'],
		['a day past the end of April', '2026-04-31'],
		['29 February of a common year', '2025-02-29'],
		['29 February of a century that is no leap year', '1900-02-29'],
		['an hour past 23', '2026-03-01T25:00'],
		['hour 24', '2026-03-01T24:00'],
		['a minute past 59', '2026-03-01T12:60'],
		['a second past 59', '2026-03-01T12:00:60'],
		['a year before 1000', '0999-12-31'],
		['a time without a date', 'T10:00'],
		['a time zone suffix', '2026-03-01T10:00Z']
	])('refuses %s (%s) naming the field', (_, value) => {
		expect(isLocalTime(value)).toBe(false);
		for (const field of ['from', 'to']) {
			const result = parse(`${field}=${encodeURIComponent(value)}`);
			expect(result.success).toBe(false);
			expect(invalidAuditFields(result.error!)).toEqual([field]);
		}
	});

	it('names each refused field once', () => {
		const result = parse('from=2026-02-30&to=2026-03-01T99:99&outcome=maybe&person=1');
		expect(result.success).toBe(false);
		expect(invalidAuditFields(result.error!).sort()).toEqual(['from', 'outcome', 'to']);
	});
});
