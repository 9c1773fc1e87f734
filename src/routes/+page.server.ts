import { m } from '$lib/paraglide/messages';
import * as notifications from '$lib/server/admin/notifications';
import * as auditWorkspace from '$lib/server/audit/workspace';
import { requireUser } from '$lib/server/auth/guards';
import { documentsPanel } from '$lib/server/vault';
import type { PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
	const user = requireUser(event);
	// Each panel's domain function returns null for roles it does not serve.
	const [adminPanel, documents, auditPanel] = await Promise.all([
		notifications.panelFor(user),
		documentsPanel(event),
		user.roles.includes('auditor')
			? auditWorkspace.panel(user, (id) => m.audit_restricted_document({ id }))
			: null
	]);
	return {
		displayName: user.displayName,
		roles: user.roles,
		adminPanel,
		documentsPanel: documents,
		auditPanel
	};
};
