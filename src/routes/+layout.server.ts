import { getConfig } from '$lib/server/config';
import type { LayoutServerLoad } from './$types';

// Only display fields leave the server; guards live in each load, action and endpoint.
export const load: LayoutServerLoad = ({ locals }) => {
	const user = locals.user;
	return {
		user: user ? { displayName: user.displayName, roles: user.roles } : null,
		timeZone: user?.timeZone ?? getConfig().displayTimeZone
	};
};
