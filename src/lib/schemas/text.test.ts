import { describe, expect, it } from 'vitest';
import { formText, hasControlCharacters } from './text';

describe('formText', () => {
	it('trims and takes text with tabs, line breaks and any script', () => {
		expect(formText(50).parse('  宇宙\tpolicy\r\nnote  ')).toBe('宇宙\tpolicy\r\nnote');
	});

	it('refuses NUL, the other control characters and DEL, by name', () => {
		for (const c of ['\u0000', '\u0007', '\u000b', '\u000c', '\u001b', '\u007f']) {
			expect(hasControlCharacters(`a${c}b`)).toBe(true);
			const result = formText(50).safeParse(`a${c}b`);
			expect(result.error?.issues.map((i) => i.message)).toEqual(['control_characters']);
		}
		expect(hasControlCharacters('a\tb\nc\rd')).toBe(false);
	});

	it('keeps its length limit and message', () => {
		expect(formText(3, 'too_long').safeParse('abcd').error?.issues[0]?.message).toBe('too_long');
		expect(formText(3).min(1, 'required').safeParse('   ').error?.issues[0]?.message).toBe(
			'required'
		);
	});
});
