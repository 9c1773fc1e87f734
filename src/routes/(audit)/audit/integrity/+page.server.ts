import type { Actions, PageServerLoad } from './$types';
import * as audit from '$lib/server/audit';
import * as workspace from '$lib/server/audit/workspace';
import { requireRole } from '$lib/server/auth/guards';

export const load: PageServerLoad = async (event) => {
	await requireRole(event, 'auditor');
	await workspace.recordView(audit.contextOf(event), 'integrity');
	// The keys verification uses (the pinned ones when set), public halves only: no seed.
	return { keys: audit.verificationKeys() };
};

export const actions: Actions = {
	default: async (event) => {
		await requireRole(event, 'auditor');
		const report = await workspace.verify(audit.contextOf(event));
		return { report };
	}
};
