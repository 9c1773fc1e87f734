import { z } from 'zod';
import { formText } from './text';
import {
	ACCOUNT_STATUS_VALUES,
	ADMIN_ERROR_CODES,
	ROLE_VALUES,
	type AdminErrorCode
} from './admin-codes';

/**
 * The administration forms. Each form's schema is a `.pick` of the shared fields and is
 * `.strict()`: a posted field the form did not offer (roles, level, organisation, approver…)
 * refuses the whole submission instead of being quietly applied.
 */

// The plain values the pages need too, in a module without zod (see admin-codes.ts).
export { ACCOUNT_STATUS_VALUES, ADMIN_ERROR_CODES, ROLE_VALUES, type AdminErrorCode };

export const TEXT_MAX = 2000;

const id = z.coerce.number().int().positive().max(2_147_483_647);
const rank = z.coerce.number().int().min(0).max(100);
const text = (max: number) => formText(max).min(1);
const longText = formText(TEXT_MAX, 'justification_too_long').min(1, 'justification_required');
const checkbox = z
	.enum(['on', 'true', 'false'])
	.optional()
	.transform((v) => v === 'on' || v === 'true');

export const accountFields = z.object({
	displayName: text(200),
	email: z.email().max(320),
	organisationId: id,
	roles: z.array(z.enum(ROLE_VALUES)).max(ROLE_VALUES.length),
	justification: formText(TEXT_MAX, 'justification_too_long'),
	reason: longText
});

export const createAccountForm = accountFields
	.pick({ displayName: true, email: true, organisationId: true, roles: true, justification: true })
	.strict();
export const rolesForm = accountFields.pick({ roles: true, justification: true }).strict();
export const organisationChangeForm = accountFields
	.pick({ organisationId: true })
	.extend({ justification: longText })
	.strict();
export const statusForm = accountFields.pick({ reason: true }).strict();
export const emptyForm = z.object({}).strict();

export const grantFields = z.object({
	levelRank: rank,
	compartmentId: id,
	justification: longText,
	endDate: z.union([z.literal(''), z.iso.date()]),
	grantId: id,
	requestId: id,
	reason: longText,
	comment: formText(TEXT_MAX, 'justification_too_long').min(1, 'comment_required')
});

export const levelGrantForm = grantFields
	.pick({ levelRank: true, justification: true, endDate: true })
	.strict();
export const compartmentGrantForm = grantFields
	.pick({ compartmentId: true, justification: true, endDate: true })
	.strict();
export const revokeForm = grantFields.pick({ grantId: true, reason: true }).strict();
export const attestForm = grantFields.pick({ grantId: true }).strict();
export const decisionForm = grantFields.pick({ requestId: true, comment: true }).strict();
export const withdrawForm = grantFields.pick({ requestId: true }).strict();

/**
 * The characters a reference name printed on banners and in lists may not carry, in its NFKC
 * form (the form a reader sees: width set aside): format characters (zero-width space and
 * joiners, word joiner, soft hyphen, bidirectional controls) and the other invisible or
 * control characters, combining marks (a Japanese voiced mark composes with its kana under
 * NFKC, so one left over was put there to hide in a name), separators other than the space,
 * and the marking separator '/' with the slashes drawn like it, which would make one marking
 * read as two.
 */
const HIDDEN_OR_SEPARATOR = /[\p{C}\p{M}\p{Zl}\p{Zp}/\u2044\u2215\u29f8\u2571]/u;

/**
 * Letters of the scripts the institute writes its names in; a letter of any other script (a
 * Cyrillic Т or Greek Ο that draws like a Latin one) would let one name pass for another.
 * Script extensions, so that the kana length mark and the iteration marks count.
 */
const FOREIGN_LETTER = /(?![\p{scx=Latin}\p{scx=Han}\p{scx=Hiragana}\p{scx=Katakana}])\p{L}/u;

/** A level, compartment or organisation name that reads as what it is, and nothing else. */
export function isPlainName(value: string): boolean {
	const seen = value.normalize('NFKC');
	return seen.trim().length > 0 && !HIDDEN_OR_SEPARATOR.test(seen) && !FOREIGN_LETTER.test(seen);
}

const name = text(200).refine(isPlainName, 'name_characters');

const code = z
	.string()
	.trim()
	.min(1)
	.max(20)
	.regex(/^[A-Z0-9][A-Z0-9 _-]*$/);

export const referenceFields = z.object({
	id,
	rank,
	code,
	nameEn: name,
	nameJa: name,
	colour: formText(20),
	sensitive: checkbox,
	justification: longText
});

export const organisationForm = referenceFields
	.pick({ code: true, nameEn: true, nameJa: true })
	.strict();
export const compartmentForm = referenceFields
	.pick({ code: true, nameEn: true, nameJa: true, sensitive: true })
	.strict();
export const renameForm = referenceFields.pick({ id: true, nameEn: true, nameJa: true }).strict();
export const levelForm = referenceFields
	.pick({ rank: true, nameEn: true, nameJa: true, colour: true })
	.strict();
export const sensitiveForm = referenceFields
	.pick({ id: true, sensitive: true, justification: true })
	.strict();

export const settingsFields = z.object({ value: rank, justification: longText });
export const thresholdForm = settingsFields.strict();
export const endDateLevelForm = settingsFields.pick({ value: true }).strict();

export const accountListQuery = z.object({
	q: formText(200).optional().catch('').default(''),
	status: z.enum(ACCOUNT_STATUS_VALUES).optional().catch(undefined),
	page: z.coerce.number().int().min(1).max(100_000).optional().catch(1).default(1)
});

/**
 * Form data to a plain object: the listed keys may repeat (checkbox groups), any other key given
 * twice or as a file makes the form invalid, so a smuggled duplicate cannot win.
 */
export function formObject(
	data: FormData,
	arrays: readonly string[] = []
): Record<string, unknown> | null {
	// Without a prototype: a posted "__proto__" becomes a key of its own, which the strict
	// schema then refuses, instead of setting the object's prototype and vanishing unseen.
	const out = Object.create(null) as Record<string, unknown>;
	for (const key of new Set(data.keys())) {
		const values = data.getAll(key);
		if (values.some((v) => typeof v !== 'string')) return null;
		if (arrays.includes(key)) out[key] = values;
		else if (values.length === 1) out[key] = values[0];
		else return null;
	}
	for (const key of arrays) out[key] ??= [];
	return out;
}
