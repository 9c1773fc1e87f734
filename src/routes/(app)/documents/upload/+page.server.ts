import { requireRole } from '$lib/server/auth/guards';
import * as upload from '$lib/server/vault/upload';
import type { PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
	const user = await requireRole(event, 'staff', 'liaison');
	return { options: await upload.formOptions(user) };
};
