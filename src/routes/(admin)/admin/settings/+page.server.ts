import * as grants from '$lib/server/admin/grants';
import { guard, parseForm, perform } from '$lib/server/admin/http';
import * as reference from '$lib/server/admin/reference';
import * as settings from '$lib/server/admin/settings';
import { endDateLevelForm, thresholdForm } from '$lib/schemas/admin';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
	const { ctx, db } = await guard(event);
	return {
		settings: await settings.all(db),
		levels: await reference.listLevels(db),
		endDateLimit: grants.endDateLimit(ctx.timeZone)
	};
};

export const actions: Actions = {
	threshold: async (event) => {
		const { ctx, db } = await guard(event);
		const form = await parseForm(event.request, thresholdForm);
		if (!form.ok) return form.failure;
		return perform(event, ctx, async () => {
			await settings.requestThresholdChange(db, ctx, form.data);
			return { done: 'pending' as const };
		});
	},
	endDateLevel: async (event) => {
		const { ctx, db } = await guard(event);
		const form = await parseForm(event.request, endDateLevelForm);
		if (!form.ok) return form.failure;
		return perform(event, ctx, async () => {
			await settings.setEndDateLevel(db, ctx, form.data.value);
			return { done: 'saved' as const };
		});
	}
};
