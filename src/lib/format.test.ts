import { describe, expect, it } from 'vitest';
import { formatDateTime, formatDateTimeSeconds } from './format';

describe('formatDateTime', () => {
	const instant = new Date(Date.UTC(2026, 0, 24, 3, 33, 20));

	it("shows the instant in the reader's zone and language, with the offset", () => {
		expect(formatDateTime(instant, 'en', 'Asia/Tokyo')).toBe('24/01/2026, 12:33 GMT+09:00');
		expect(formatDateTime(instant, 'en', 'UTC')).toMatch(/^24\/01\/2026, 03:33 GMT/);
		expect(formatDateTime(instant, 'ja', 'Asia/Tokyo')).toBe('2026/01/24 12:33 GMT+09:00');
		expect(formatDateTimeSeconds(instant, 'en', 'Asia/Tokyo')).toBe(
			'24/01/2026, 12:33:20 GMT+09:00'
		);
	});

	it('answers the same again from what it kept, for each zone and language apart', () => {
		for (let round = 0; round < 2; round++) {
			expect(formatDateTime(instant.toISOString(), 'en', 'Asia/Tokyo')).toBe(
				'24/01/2026, 12:33 GMT+09:00'
			);
			expect(formatDateTime(instant.getTime(), 'en', 'Europe/Paris')).toBe(
				'24/01/2026, 04:33 GMT+01:00'
			);
			expect(formatDateTime(instant, 'ja', 'America/New_York')).toBe('2026/01/23 22:33 GMT-05:00');
		}
		// More instants than are kept: every answer is still right.
		for (let i = 0; i < 5000; i++) {
			const at = new Date(instant.getTime() + i * 60_000);
			const shown = /(\d\d:\d\d) GMT/.exec(formatDateTime(at, 'en', 'UTC'))?.[1];
			expect(shown).toBe(at.toISOString().slice(11, 16));
		}
	});

	it('refuses an invalid date rather than keeping anything for it', () => {
		expect(() => formatDateTime('not a date', 'en', 'UTC')).toThrow(RangeError);
		expect(() => formatDateTime('not a date', 'en', 'UTC')).toThrow(RangeError);
	});
});
