import * as notifications from '$lib/server/admin/notifications';
import { requireUser } from '$lib/server/auth/guards';
import type { PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
	const user = requireUser(event);
	// Each panel's domain function returns null for roles it does not serve.
	const [adminPanel] = await Promise.all([notifications.panelFor(user)]);
	return { displayName: user.displayName, roles: user.roles, adminPanel };
};
