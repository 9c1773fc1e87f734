import { z } from 'zod';
import { formText, hasControlCharacters } from './text';

// Same values as the database checks; kept here so that the schema has no server import.
const DOCUMENT_KINDS = ['memo', 'file'] as const;
const DOCUMENT_STATUSES = ['draft', 'published', 'archived'] as const;

const code = z
	.string()
	.trim()
	.min(1)
	.max(40)
	.regex(/^[A-Za-z0-9 ._-]+$/);
/**
 * A calendar day as `YYYY-MM-DD` that exists (no 31 February) and that PostgreSQL takes as a
 * date (its calendar has no year 0).
 */
const isoDate = z.iso.date().refine((value) => !value.startsWith('0000'));

/** The list and search query string. Unknown or malformed values are dropped, not errors. */
export const listQuery = z.object({
	q: z.string().max(200).optional().catch(undefined),
	level: z.array(z.coerce.number().int().min(0).max(100)).max(10).catch([]),
	compartment: code.optional().catch(undefined),
	originator: code.optional().catch(undefined),
	kind: z.enum(DOCUMENT_KINDS).optional().catch(undefined),
	tag: formText(60).min(1).optional().catch(undefined),
	status: z.enum(DOCUMENT_STATUSES).optional().catch(undefined),
	mine: z.literal('1').optional().catch(undefined),
	from: isoDate.optional().catch(undefined),
	to: isoDate.optional().catch(undefined),
	cursor: z.string().max(200).optional().catch(undefined)
});
export type ListQuery = z.infer<typeof listQuery>;

export function parseListQuery(params: URLSearchParams): ListQuery {
	const single = (key: string) => {
		const value = params.get(key);
		return value === null || value === '' ? undefined : value;
	};
	return listQuery.parse({
		q: single('q'),
		level: params.getAll('level').filter((v) => v !== ''),
		compartment: single('compartment'),
		originator: single('originator'),
		kind: single('kind'),
		tag: single('tag'),
		status: single('status'),
		mine: single('mine'),
		from: single('from'),
		to: single('to'),
		cursor: single('cursor')
	});
}

const tags = z
	.string()
	.max(500)
	.refine((value) => !hasControlCharacters(value), 'control_characters')
	.transform((value) =>
		[
			...new Set(
				value
					.split(/[,、，]/)
					.map((t) => t.trim().toLowerCase())
					.filter((t) => t.length > 0)
			)
		].slice(0, 20)
	)
	.pipe(z.array(z.string().max(60)));

/** Memo text and metadata. Author, originator of a liaison, status and version come from the server. */
export const memoContent = z.object({
	title: formText(200).min(1),
	summary: formText(2000),
	body: z
		.string()
		.min(1)
		.max(200_000)
		.refine((value) => !hasControlCharacters(value), 'control_characters'),
	tags,
	reviewOn: isoDate.optional().or(z.literal('').transform(() => undefined))
});

export const classification = z.object({
	levelRank: z.coerce.number().int().min(0).max(100),
	compartments: z.array(code).max(50),
	release: z.array(code).min(1).max(50)
});

export const newMemo = memoContent.extend({
	...classification.shape,
	originator: code.optional(),
	publish: z.enum(['draft', 'publish'])
});

export const editMemo = memoContent.extend({
	note: formText(500)
});

export const reclassifyForm = classification.extend({
	reason: formText(1000).min(1)
});

/** Reads the fields a schema knows from a posted form; everything else in the form is ignored. */
export function formFields(form: FormData, arrays: string[] = []): Record<string, unknown> {
	const out: Record<string, unknown> = {};
	for (const key of new Set(form.keys())) {
		if (arrays.includes(key)) {
			out[key] = form.getAll(key).filter((v): v is string => typeof v === 'string');
		} else {
			const value = form.get(key);
			if (typeof value === 'string') out[key] = value;
		}
	}
	for (const key of arrays) out[key] ??= [];
	return out;
}
