import * as notifications from '$lib/server/admin/notifications';
import { guard } from '$lib/server/admin/http';
import type { PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
	const { db } = await guard(event);
	return { panel: await notifications.homePanel(db) };
};
