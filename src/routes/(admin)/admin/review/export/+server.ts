import * as review from '$lib/server/admin/review';
import { guard } from '$lib/server/admin/http';
import { refuseExportStartedElsewhere } from '$lib/server/http/cross-site';
import type { RequestHandler } from './$types';

export const GET: RequestHandler = async (event) => {
	const { ctx, db } = await guard(event);
	await refuseExportStartedElsewhere(event, 'review.exported');
	const now = new Date();
	const csv = await review.exportCsv(db, ctx, now);
	const stamp = now.toISOString().slice(0, 19).replace(/[:T]/g, '-');
	return new Response(csv, {
		headers: {
			'Content-Type': 'text/csv; charset=utf-8',
			'Content-Disposition': `attachment; filename="access-review-${stamp}.csv"`,
			'Cache-Control': 'no-store'
		}
	});
};
