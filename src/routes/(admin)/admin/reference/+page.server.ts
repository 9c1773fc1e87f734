import { guard, parseForm, perform } from '$lib/server/admin/http';
import * as reference from '$lib/server/admin/reference';
import {
	compartmentForm,
	levelForm,
	organisationForm,
	renameForm,
	sensitiveForm
} from '$lib/schemas/admin';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
	const { db } = await guard(event);
	return {
		organisations: await reference.listOrganisations(db),
		compartments: await reference.listCompartments(db),
		levels: await reference.listLevels(db)
	};
};

export const actions: Actions = {
	createOrganisation: async (event) => {
		const { ctx, db } = await guard(event);
		const form = await parseForm(event.request, organisationForm);
		if (!form.ok) return form.failure;
		return perform(event, ctx, async () => {
			await reference.createOrganisation(db, ctx, form.data);
			return { done: 'created' as const };
		});
	},
	renameOrganisation: async (event) => {
		const { ctx, db } = await guard(event);
		const form = await parseForm(event.request, renameForm);
		if (!form.ok) return form.failure;
		const { id, ...names } = form.data;
		return perform(event, ctx, async () => {
			await reference.renameOrganisation(db, ctx, id, names);
			return { done: 'saved' as const };
		});
	},
	createCompartment: async (event) => {
		const { ctx, db } = await guard(event);
		const form = await parseForm(event.request, compartmentForm);
		if (!form.ok) return form.failure;
		return perform(event, ctx, async () => {
			await reference.createCompartment(db, ctx, form.data);
			return { done: 'created' as const };
		});
	},
	renameCompartment: async (event) => {
		const { ctx, db } = await guard(event);
		const form = await parseForm(event.request, renameForm);
		if (!form.ok) return form.failure;
		const { id, ...names } = form.data;
		return perform(event, ctx, async () => {
			await reference.renameCompartment(db, ctx, id, names);
			return { done: 'saved' as const };
		});
	},
	sensitive: async (event) => {
		const { ctx, db } = await guard(event);
		const form = await parseForm(event.request, sensitiveForm);
		if (!form.ok) return form.failure;
		return perform(event, ctx, async () => {
			await reference.requestSensitiveChange(db, ctx, {
				compartmentId: form.data.id,
				sensitive: form.data.sensitive,
				justification: form.data.justification
			});
			return { done: 'pending' as const };
		});
	},
	level: async (event) => {
		const { ctx, db } = await guard(event);
		const form = await parseForm(event.request, levelForm);
		if (!form.ok) return form.failure;
		const { rank, ...values } = form.data;
		return perform(event, ctx, async () => {
			await reference.updateLevel(db, ctx, rank, values);
			return { done: 'saved' as const };
		});
	}
};
