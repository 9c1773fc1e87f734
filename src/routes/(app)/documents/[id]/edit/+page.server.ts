import { error, fail, redirect } from '@sveltejs/kit';
import { editMemo, formFields } from '$lib/schemas/documents';
import { pages, requireOwnDocument, vaultContext, write } from '$lib/server/vault';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
	const found = await requireOwnDocument(event, event.params.id, 'document.edit');
	const doc = found.document;
	if (doc.kind !== 'memo' || doc.status === 'archived') redirect(303, `/documents/${doc.id}`);
	return {
		document: { id: doc.id, title: doc.title },
		values: {
			title: doc.title,
			summary: doc.summary,
			body: await pages.memoSource(vaultContext(event, found), doc),
			tags: doc.tags.join(', '),
			reviewOn: doc.reviewOn ?? ''
		}
	};
};

export const actions: Actions = {
	default: async (event) => {
		const found = await requireOwnDocument(event, event.params.id, 'document.edit');
		const ctx = vaultContext(event, found);
		const raw = formFields(await event.request.formData());
		const text = (key: string) => (typeof raw[key] === 'string' ? (raw[key] as string) : '');
		const values = {
			title: text('title'),
			summary: text('summary'),
			body: text('body'),
			tags: text('tags'),
			reviewOn: text('reviewOn'),
			note: text('note')
		};
		const parsed = editMemo.safeParse(raw);
		if (!parsed.success) {
			const errors = [...new Set(parsed.error.issues.map((i) => String(i.path[0])))];
			return fail(400, { values, errors, reason: 'invalid' });
		}
		const input = parsed.data;
		const outcome = await pages.attempt(ctx, 'document.edit', found.document.id, () =>
			write.editMemo(ctx.reader, ctx.audit, found.document.id, {
				title: input.title,
				summary: input.summary,
				body: input.body,
				tags: input.tags,
				reviewOn: input.reviewOn ?? null,
				note: input.note
			})
		);
		if (!outcome.ok) {
			if (outcome.status === 404) error(404, 'Not Found');
			return fail(outcome.status, { values, errors: [], reason: outcome.reason });
		}
		redirect(303, `/documents/${found.document.id}`);
	}
};
