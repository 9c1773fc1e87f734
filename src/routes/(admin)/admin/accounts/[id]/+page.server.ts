import { error } from '@sveltejs/kit';
import * as accounts from '$lib/server/admin/accounts';
import { todayIn } from '$lib/server/admin/context';
import * as grants from '$lib/server/admin/grants';
import { guard, idParam, parseForm, perform } from '$lib/server/admin/http';
import * as reference from '$lib/server/admin/reference';
import * as settings from '$lib/server/admin/settings';
import {
	compartmentGrantForm,
	emptyForm,
	levelGrantForm,
	organisationChangeForm,
	revokeForm,
	rolesForm,
	statusForm
} from '$lib/schemas/admin';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
	const { ctx, db } = await guard(event);
	const id = idParam(event.params.id);
	const detail = await accounts.get(db, id);
	if (!detail) error(404, 'Not Found');
	return {
		...detail,
		isSelf: id === ctx.actor.id,
		created: event.url.searchParams.has('created'),
		levels: await reference.listLevels(db),
		compartments: await reference.listCompartments(db),
		organisations: await reference.listOrganisations(db),
		settings: await settings.all(db),
		today: todayIn(ctx.timeZone),
		endDateLimit: grants.endDateLimit(ctx.timeZone)
	};
};

export const actions: Actions = {
	disable: async (event) => {
		const { ctx, db } = await guard(event);
		const accountId = idParam(event.params.id);
		const form = await parseForm(event.request, statusForm);
		if (!form.ok) return form.failure;
		return perform(event, ctx, async () => {
			const r = await accounts.disable(db, ctx, { accountId, reason: form.data.reason });
			return { done: r.status === 'applied' ? ('disabled' as const) : ('pending' as const) };
		});
	},
	endSessions: async (event) => {
		const { ctx, db } = await guard(event);
		const accountId = idParam(event.params.id);
		const form = await parseForm(event.request, statusForm);
		if (!form.ok) return form.failure;
		return perform(event, ctx, async () => {
			await accounts.endSessions(db, ctx, { accountId, reason: form.data.reason });
			return { done: 'sessions_ended' as const };
		});
	},
	enable: async (event) => {
		const { ctx, db } = await guard(event);
		const accountId = idParam(event.params.id);
		const form = await parseForm(event.request, statusForm);
		if (!form.ok) return form.failure;
		return perform(event, ctx, async () => {
			const r = await accounts.enable(db, ctx, { accountId, reason: form.data.reason });
			return { done: r.status === 'applied' ? ('enabled' as const) : ('pending' as const) };
		});
	},
	sendLink: async (event) => {
		const { ctx, db } = await guard(event);
		const accountId = idParam(event.params.id);
		const form = await parseForm(event.request, emptyForm);
		if (!form.ok) return form.failure;
		return perform(event, ctx, async () => {
			await accounts.sendEnrolmentLink(db, ctx, { accountId });
			return { done: 'link_sent' as const };
		});
	},
	roles: async (event) => {
		const { ctx, db } = await guard(event);
		const accountId = idParam(event.params.id);
		const form = await parseForm(event.request, rolesForm, ['roles']);
		if (!form.ok) return form.failure;
		return perform(event, ctx, async () => {
			const r = await accounts.changeRoles(db, ctx, { accountId, ...form.data });
			return { done: r.status };
		});
	},
	organisation: async (event) => {
		const { ctx, db } = await guard(event);
		const accountId = idParam(event.params.id);
		const form = await parseForm(event.request, organisationChangeForm);
		if (!form.ok) return form.failure;
		return perform(event, ctx, async () => {
			await accounts.requestOrganisationChange(db, ctx, { accountId, ...form.data });
			return { done: 'pending' as const };
		});
	},
	grantLevel: async (event) => {
		const { ctx, db } = await guard(event);
		const accountId = idParam(event.params.id);
		const form = await parseForm(event.request, levelGrantForm);
		if (!form.ok) return form.failure;
		return perform(event, ctx, async () => {
			const r = await grants.request(db, ctx, {
				accountId,
				kind: 'level',
				levelRank: form.data.levelRank,
				justification: form.data.justification,
				endDate: form.data.endDate || null
			});
			return { done: r.status };
		});
	},
	grantCompartment: async (event) => {
		const { ctx, db } = await guard(event);
		const accountId = idParam(event.params.id);
		const form = await parseForm(event.request, compartmentGrantForm);
		if (!form.ok) return form.failure;
		return perform(event, ctx, async () => {
			const r = await grants.request(db, ctx, {
				accountId,
				kind: 'compartment',
				compartmentId: form.data.compartmentId,
				justification: form.data.justification,
				endDate: form.data.endDate || null
			});
			return { done: r.status };
		});
	},
	revoke: async (event) => {
		const { ctx, db } = await guard(event);
		const accountId = idParam(event.params.id);
		const form = await parseForm(event.request, revokeForm);
		if (!form.ok) return form.failure;
		return perform(event, ctx, async () => {
			await grants.revoke(db, ctx, { ...form.data, accountId });
			return { done: 'revoked' as const };
		});
	}
};
