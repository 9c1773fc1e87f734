import { fail, redirect } from '@sveltejs/kit';
import { formFields, newMemo } from '$lib/schemas/documents';
import { pages, requireVaultUser, vaultContext, write } from '$lib/server/vault';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
	const vault = await requireVaultUser(event);
	return { options: await pages.writeOptions(vaultContext(event, vault)) };
};

/** What the form gets back after a refusal: only what the person typed, nothing else. */
function echo(raw: Record<string, unknown>) {
	const text = (key: string) => (typeof raw[key] === 'string' ? (raw[key] as string) : '');
	const list = (key: string) => (Array.isArray(raw[key]) ? (raw[key] as string[]) : []);
	return {
		title: text('title'),
		summary: text('summary'),
		body: text('body'),
		tags: text('tags'),
		reviewOn: text('reviewOn'),
		levelRank: text('levelRank'),
		compartments: list('compartments'),
		release: list('release'),
		originator: text('originator')
	};
}

export const actions: Actions = {
	default: async (event) => {
		const vault = await requireVaultUser(event);
		const ctx = vaultContext(event, vault);
		const raw = formFields(await event.request.formData(), ['compartments', 'release']);
		const values = echo(raw);
		const parsed = newMemo.safeParse(raw);
		if (!parsed.success) {
			const errors = [...new Set(parsed.error.issues.map((i) => String(i.path[0])))];
			return fail(400, { values, errors, reason: 'invalid' });
		}
		const input = parsed.data;
		const outcome = await pages.attempt(ctx, 'document.create', null, async () => {
			const ids = await pages.idsOf(input, ctx.reader.access.compartmentIds);
			if (!ids) return null;
			return write.createMemo(ctx.reader, ctx.audit, {
				title: input.title,
				summary: input.summary,
				body: input.body,
				tags: input.tags,
				reviewOn: input.reviewOn ?? null,
				levelRank: input.levelRank,
				compartmentIds: ids.compartmentIds,
				releaseOrgIds: ids.releaseOrgIds,
				originatorOrgId: ids.originatorOrgId,
				publish: input.publish === 'publish'
			});
		});
		if (!outcome.ok) return fail(outcome.status, { values, errors: [], reason: outcome.reason });
		if (!outcome.value) return fail(400, { values, errors: ['release'], reason: 'invalid' });
		redirect(303, `/documents/${outcome.value.id}`);
	}
};
