import * as notifications from '$lib/server/admin/notifications';
import { requireUser } from '$lib/server/auth/guards';
import { documentsPanel } from '$lib/server/vault';
import type { PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
	const user = requireUser(event);
	// Each panel's domain function returns null for roles it does not serve.
	const [adminPanel, documents] = await Promise.all([
		notifications.panelFor(user),
		documentsPanel(event)
	]);
	return {
		displayName: user.displayName,
		roles: user.roles,
		adminPanel,
		documentsPanel: documents
	};
};
