import { describe, expect, it } from 'vitest';
import { S3_PART_SIZE, partSizeFor } from './s3';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

describe('partSizeFor', () => {
	it('uses 5 MiB parts while 10,000 of them hold the largest upload allowed', () => {
		expect(partSizeFor(undefined)).toBe(S3_PART_SIZE);
		expect(S3_PART_SIZE).toBe(5 * MiB);
		expect(partSizeFor(1 * GiB)).toBe(5 * MiB);
		expect(partSizeFor(10_000 * 5 * MiB)).toBe(5 * MiB);
	});

	it('grows the parts so that no upload up to the limit needs more than 10,000', () => {
		for (const limit of [10_000 * 5 * MiB + 1, 100 * GiB, 1024 * GiB]) {
			const part = partSizeFor(limit);
			expect(part).toBeGreaterThan(5 * MiB);
			expect(Math.ceil(limit / part)).toBeLessThanOrEqual(10_000);
		}
	});
});
