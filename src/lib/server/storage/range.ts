import { InvalidRangeError, type ByteRange } from './types';

/** Resolves a requested range against an object's size: inclusive bounds, or a typed error. */
export function resolveRange(range: ByteRange, size: number): { start: number; end: number } {
	let start: number;
	let end: number;
	if ('suffix' in range) {
		if (!Number.isSafeInteger(range.suffix) || range.suffix <= 0) throw new InvalidRangeError(size);
		start = Math.max(0, size - range.suffix);
		end = size - 1;
	} else {
		start = range.start;
		end = range.end === undefined ? size - 1 : Math.min(range.end, size - 1);
		if (
			!Number.isSafeInteger(start) ||
			(range.end !== undefined && !Number.isSafeInteger(range.end))
		)
			throw new InvalidRangeError(size);
		if (range.end !== undefined && range.end < start) throw new InvalidRangeError(size);
	}
	if (start < 0 || start >= size || start > end) throw new InvalidRangeError(size);
	return { start, end };
}
