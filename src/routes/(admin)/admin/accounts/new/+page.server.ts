import { redirect } from '@sveltejs/kit';
import * as accounts from '$lib/server/admin/accounts';
import { guard, parseForm, perform } from '$lib/server/admin/http';
import * as reference from '$lib/server/admin/reference';
import { createAccountForm } from '$lib/schemas/admin';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
	const { db } = await guard(event);
	return { organisations: await reference.listOrganisations(db) };
};

export const actions: Actions = {
	default: async (event) => {
		const { ctx, db } = await guard(event);
		const form = await parseForm(event.request, createAccountForm, ['roles']);
		if (!form.ok) return form.failure;
		const result = await perform(event, ctx, () => accounts.create(db, ctx, form.data));
		if ('accountId' in result) redirect(303, `/admin/accounts/${result.accountId}?created=1`);
		return result;
	}
};
