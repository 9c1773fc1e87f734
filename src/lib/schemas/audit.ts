import { z } from 'zod';
import { AUDIT_ACTIONS, AUDIT_OUTCOMES } from '$lib/server/audit/catalogue';
import { formText } from './text';

const empty = (value: unknown) => (value === '' || value === null ? undefined : value);
const optionalId = z.preprocess(
	empty,
	z.coerce
		.number()
		.int()
		.positive()
		.max(2 ** 31 - 1)
		.optional()
);
const LOCAL_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2}))?)?$/;

/**
 * Whether `value` is `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM[:SS]` naming a day that exists (no
 * 2026-02-31, no month 13) and a time of day (00:00:00 to 23:59:59), in the years 1000 to 9999.
 */
export function isLocalTime(value: string): boolean {
	const match = LOCAL_TIME.exec(value);
	if (!match) return false;
	const [year, month, day, hour, minute, second] = match.slice(1).map((p) => Number(p ?? 0)) as [
		number,
		number,
		number,
		number,
		number,
		number
	];
	const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
	const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
	return (
		year >= 1000 &&
		days !== undefined &&
		day >= 1 &&
		day <= days &&
		hour <= 23 &&
		minute <= 59 &&
		second <= 59
	);
}

// `datetime-local` input: read in the reader's time zone by the domain module.
const localTime = z.preprocess(
	empty,
	z.string().refine(isLocalTime, 'Not a real date and time (YYYY-MM-DDTHH:MM)').optional()
);

/** The auditor's log filters, from the query string; every field optional. */
export const auditFilterSchema = z.object({
	person: optionalId,
	document: optionalId,
	action: z.preprocess(empty, z.enum(AUDIT_ACTIONS).optional()),
	outcome: z.preprocess(empty, z.enum(AUDIT_OUTCOMES).optional()),
	ip: z.preprocess(empty, formText(100).optional()),
	from: localTime,
	to: localTime
});
export type AuditFilter = z.infer<typeof auditFilterSchema>;

export const auditCursorSchema = z.preprocess(
	empty,
	z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER).optional()
);

export function parseAuditFilter(params: URLSearchParams) {
	return auditFilterSchema.safeParse(Object.fromEntries(params));
}

/** The fields a failed `parseAuditFilter` refused, to mark them in the form. */
export function invalidAuditFields(error: z.ZodError): string[] {
	return [...new Set(error.issues.map((issue) => String(issue.path[0] ?? '')))].filter(Boolean);
}
