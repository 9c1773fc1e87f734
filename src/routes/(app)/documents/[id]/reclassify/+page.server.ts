import { error, fail, redirect } from '@sveltejs/kit';
import { formFields, reclassifyForm } from '$lib/schemas/documents';
import { pages, requireOwnDocument, vaultContext, write } from '$lib/server/vault';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
	const found = await requireOwnDocument(event, event.params.id, 'document.reclassify');
	const ctx = vaultContext(event, found);
	const doc = found.document;
	const options = await pages.writeOptions(ctx);
	const current = await pages.classificationCodes(ctx, doc);
	await pages.recordView(ctx.audit, doc, 'reclassify', null);
	return {
		document: { id: doc.id, title: doc.title },
		marking: current.marking,
		options,
		values: {
			levelRank: String(doc.levelRank),
			compartments: current.compartments,
			release: current.release
		}
	};
};

export const actions: Actions = {
	default: async (event) => {
		const found = await requireOwnDocument(event, event.params.id, 'document.reclassify');
		const ctx = vaultContext(event, found);
		const raw = formFields(await event.request.formData(), ['compartments', 'release']);
		const values = {
			levelRank: typeof raw.levelRank === 'string' ? raw.levelRank : '',
			compartments: raw.compartments as string[],
			release: raw.release as string[],
			reason: typeof raw.reason === 'string' ? raw.reason : ''
		};
		const parsed = reclassifyForm.safeParse(raw);
		if (!parsed.success) {
			const errors = [...new Set(parsed.error.issues.map((i) => String(i.path[0])))];
			return fail(400, { values, errors, reason: 'invalid' });
		}
		const outcome = await pages.attempt(ctx, 'document.reclassify', found.document.id, async () => {
			const ids = await pages.idsOf(parsed.data, ctx.reader.access.compartmentIds);
			if (!ids) return null;
			return write.reclassify(ctx.reader, ctx.audit, found.document.id, {
				levelRank: parsed.data.levelRank,
				compartmentIds: ids.compartmentIds,
				releaseOrgIds: ids.releaseOrgIds,
				reason: parsed.data.reason
			});
		});
		if (!outcome.ok) {
			if (outcome.status === 404) error(404, 'Not Found');
			return fail(outcome.status, { values, errors: [], reason: outcome.reason });
		}
		if (outcome.value === null)
			return fail(400, { values, errors: ['release'], reason: 'invalid' });
		redirect(303, `/documents/${found.document.id}`);
	}
};
