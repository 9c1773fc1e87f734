import { error } from '@sveltejs/kit';
import { z } from 'zod';
import type { PageServerLoad } from './$types';
import * as audit from '$lib/server/audit';
import * as workspace from '$lib/server/audit/workspace';
import { requireRole } from '$lib/server/auth/guards';
import { restrictedLabel } from '../../labels';

const seqSchema = z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER);

export const load: PageServerLoad = async (event) => {
	const viewer = await requireRole(event, 'auditor');
	const seq = seqSchema.safeParse(event.params.seq);
	if (!seq.success) error(404, 'Not Found');
	await workspace.recordView(audit.contextOf(event), 'event', { seq: seq.data });
	const found = await workspace.getEvent(viewer, seq.data, restrictedLabel);
	if (!found) error(404, 'Not Found');
	return { event: found };
};
