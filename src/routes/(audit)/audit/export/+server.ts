import { error } from '@sveltejs/kit';
import type { RequestHandler } from './$types';
import { invalidAuditFields, parseAuditFilter } from '$lib/schemas/audit';
import * as audit from '$lib/server/audit';
import * as workspace from '$lib/server/audit/workspace';
import { requireRole } from '$lib/server/auth/guards';
import { refuseExportStartedElsewhere } from '$lib/server/http/cross-site';
import { m } from '$lib/paraglide/messages';
import { getLocale } from '$lib/paraglide/runtime';

const TYPES = {
	csv: 'text/csv; charset=utf-8',
	jsonl: 'application/x-ndjson; charset=utf-8'
} as const;

/** Streams the filtered log; the export is recorded before the first byte leaves. */
export const GET: RequestHandler = async (event) => {
	const viewer = await requireRole(event, 'auditor');
	await refuseExportStartedElsewhere(event, 'audit.exported');
	const format = event.url.searchParams.get('format');
	if (format !== 'csv' && format !== 'jsonl') error(400, 'Unknown export format');
	const parsed = parseAuditFilter(event.url.searchParams);
	if (!parsed.success) {
		error(
			400,
			m.audit_export_invalid_filter({ fields: invalidAuditFields(parsed.error).join(', ') })
		);
	}
	// The stream outlives the request's locale context: the language is fixed here.
	const locale = getLocale();
	const restrictedLabel = (id: number) => m.audit_restricted_document({ id }, { locale });
	const body = await workspace.exportEvents(
		audit.contextOf(event),
		viewer,
		parsed.data,
		format,
		restrictedLabel
	);
	const stamp = new Date().toISOString().replaceAll(':', '').slice(0, 15);
	return new Response(body, {
		headers: {
			'Content-Type': TYPES[format],
			'Content-Disposition': `attachment; filename="audit-${stamp}.${format}"`,
			'Cache-Control': 'no-store'
		}
	});
};
