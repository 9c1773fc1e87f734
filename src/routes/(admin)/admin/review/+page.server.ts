import * as grants from '$lib/server/admin/grants';
import { guard, parseForm, perform } from '$lib/server/admin/http';
import * as reference from '$lib/server/admin/reference';
import * as review from '$lib/server/admin/review';
import { attestForm, revokeForm } from '$lib/schemas/admin';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
	const { ctx, db } = await guard(event);
	return {
		me: ctx.actor.id,
		lines: await review.lines(db),
		levels: await reference.listLevels(db)
	};
};

export const actions: Actions = {
	attest: async (event) => {
		const { ctx, db } = await guard(event);
		const form = await parseForm(event.request, attestForm);
		if (!form.ok) return form.failure;
		return perform(event, ctx, async () => {
			await review.attest(db, ctx, form.data.grantId);
			return { done: 'attested' as const };
		});
	},
	revoke: async (event) => {
		const { ctx, db } = await guard(event);
		const form = await parseForm(event.request, revokeForm);
		if (!form.ok) return form.failure;
		return perform(event, ctx, async () => {
			await grants.revoke(db, ctx, form.data);
			return { done: 'revoked' as const };
		});
	}
};
