import { z } from 'zod';

/**
 * NUL, which PostgreSQL cannot store in text (the insert fails), and the other C0 control
 * characters but tab, line feed and carriage return, and DEL: none belongs in a title, a name, a
 * reason or a memo, and a form that carries one was not typed.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHARACTERS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/;

export function hasControlCharacters(value: string): boolean {
	return CONTROL_CHARACTERS.test(value);
}

/** Text as a form posts it: trimmed, at most `max` characters, without control characters. */
export function formText(max: number, tooLong?: string) {
	return z
		.string()
		.trim()
		.max(max, tooLong)
		.refine((value) => !hasControlCharacters(value), 'control_characters');
}
