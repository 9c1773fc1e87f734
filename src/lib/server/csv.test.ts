import { describe, expect, it } from 'vitest';
import { csvCell } from './csv';

describe('csvCell', () => {
	it('keeps every formula lead as text, in ASCII and in full width', () => {
		for (const lead of ['=', '+', '-', '@', '\t', '\r', '\n', '＝', '＋', '－', '＠'])
			expect(csvCell(`${lead}1+1`)).toBe(`"'${lead}1+1"`);
	});

	it('leaves other text alone and quotes every cell', () => {
		expect(csvCell('宇宙')).toBe('"宇宙"');
		expect(csvCell('1-1')).toBe('"1-1"');
		expect(csvCell('a "b", c')).toBe('"a ""b"", c"');
		expect(csvCell('−1')).toBe('"−1"');
		expect(csvCell('😀=1')).toBe('"😀=1"');
	});

	it('writes empty values, dates, lists and numbers', () => {
		expect(csvCell(null)).toBe('""');
		expect(csvCell(undefined)).toBe('""');
		expect(csvCell(new Date(Date.UTC(2026, 11, 4, 1, 2, 3)))).toBe('"2026-12-04T01:02:03.000Z"');
		expect(csvCell(['staff', 'liaison'])).toBe('"staff liaison"');
		expect(csvCell(42)).toBe('"42"');
		expect(csvCell(-42)).toBe(`"'-42"`);
	});
});
