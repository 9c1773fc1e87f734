import * as approvals from '$lib/server/admin/approvals';
import { guard, parseForm, perform } from '$lib/server/admin/http';
import * as reference from '$lib/server/admin/reference';
import { decisionForm, withdrawForm } from '$lib/schemas/admin';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
	const { ctx, db } = await guard(event);
	return {
		me: ctx.actor.id,
		pending: await approvals.listPending(db),
		decided: await approvals.listDecided(db, 30),
		levels: await reference.listLevels(db),
		compartments: await reference.listCompartments(db),
		organisations: await reference.listOrganisations(db)
	};
};

export const actions: Actions = {
	approve: async (event) => {
		const { ctx, db } = await guard(event);
		const form = await parseForm(event.request, decisionForm);
		if (!form.ok) return form.failure;
		return perform(event, ctx, async () => {
			await approvals.approve(db, ctx, form.data);
			return { done: 'approved' as const };
		});
	},
	reject: async (event) => {
		const { ctx, db } = await guard(event);
		const form = await parseForm(event.request, decisionForm);
		if (!form.ok) return form.failure;
		return perform(event, ctx, async () => {
			await approvals.reject(db, ctx, form.data);
			return { done: 'rejected' as const };
		});
	},
	withdraw: async (event) => {
		const { ctx, db } = await guard(event);
		const form = await parseForm(event.request, withdrawForm);
		if (!form.ok) return form.failure;
		return perform(event, ctx, async () => {
			await approvals.withdraw(db, ctx, form.data);
			return { done: 'withdrawn' as const };
		});
	}
};
