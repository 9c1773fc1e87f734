import type { PageServerLoad } from './$types';
import * as audit from '$lib/server/audit';
import * as workspace from '$lib/server/audit/workspace';
import { requireRole } from '$lib/server/auth/guards';

export const load: PageServerLoad = async (event) => {
	await requireRole(event, 'auditor');
	const expiringOnly = event.url.searchParams.get('expiring') === '1';
	await workspace.recordView(audit.contextOf(event), 'access_review', { expiringOnly });
	return { expiringOnly, rows: await workspace.accessReview({ expiringOnly }) };
};
