import type { PageServerLoad } from './$types';
import { auditCursorSchema, invalidAuditFields, parseAuditFilter } from '$lib/schemas/audit';
import * as audit from '$lib/server/audit';
import * as workspace from '$lib/server/audit/workspace';
import { requireRole } from '$lib/server/auth/guards';
import { restrictedLabel } from './labels';

export const load: PageServerLoad = async (event) => {
	const viewer = await requireRole(event, 'auditor');
	const parsed = parseAuditFilter(event.url.searchParams);
	const filter = parsed.success ? parsed.data : {};
	const cursor = auditCursorSchema.safeParse(event.url.searchParams.get('before') ?? undefined);
	const before = cursor.success ? cursor.data : undefined;
	await workspace.recordView(audit.contextOf(event), 'log', { filter, before: before ?? null });
	const page = await workspace.listEvents(viewer, filter, before, restrictedLabel);
	return {
		...page,
		filter,
		invalid: !parsed.success || !cursor.success,
		/** The filter fields that were refused (an impossible date, an unknown action...). */
		invalidFields: parsed.success ? [] : invalidAuditFields(parsed.error),
		people: await workspace.listPeople(),
		actions: audit.AUDIT_ACTIONS,
		outcomes: audit.AUDIT_OUTCOMES
	};
};
