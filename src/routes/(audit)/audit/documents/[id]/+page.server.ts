import { error } from '@sveltejs/kit';
import { z } from 'zod';
import type { PageServerLoad } from './$types';
import { auditCursorSchema } from '$lib/schemas/audit';
import * as audit from '$lib/server/audit';
import * as workspace from '$lib/server/audit/workspace';
import { requireRole } from '$lib/server/auth/guards';
import { restrictedLabel } from '../../labels';

const idSchema = z.coerce
	.number()
	.int()
	.positive()
	.max(2 ** 31 - 1);

export const load: PageServerLoad = async (event) => {
	const viewer = await requireRole(event, 'auditor');
	const id = idSchema.safeParse(event.params.id);
	if (!id.success) error(404, 'Not Found');
	const cursor = auditCursorSchema.safeParse(event.url.searchParams.get('before') ?? undefined);
	const before = cursor.success ? cursor.data : undefined;
	await workspace.recordView(audit.contextOf(event), 'document', { documentId: id.data });
	const filter = { document: id.data };
	return {
		id: id.data,
		title: await workspace.documentTitle(viewer, id.data),
		filter,
		...(await workspace.listEvents(viewer, filter, before, restrictedLabel))
	};
};
