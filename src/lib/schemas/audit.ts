import { z } from 'zod';
import { AUDIT_ACTIONS, AUDIT_OUTCOMES } from '$lib/server/audit/catalogue';

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
// `datetime-local` input: read in the reader's time zone by the domain module.
const localTime = z.preprocess(
	empty,
	z
		.string()
		.regex(/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2})?)?$/)
		.optional()
);

/** The auditor's log filters, from the query string; every field optional. */
export const auditFilterSchema = z.object({
	person: optionalId,
	document: optionalId,
	action: z.preprocess(empty, z.enum(AUDIT_ACTIONS).optional()),
	outcome: z.preprocess(empty, z.enum(AUDIT_OUTCOMES).optional()),
	ip: z.preprocess(empty, z.string().trim().max(100).optional()),
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
