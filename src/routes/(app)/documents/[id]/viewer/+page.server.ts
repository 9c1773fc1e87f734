import { error } from '@sveltejs/kit';
import * as audit from '$lib/server/audit';
import { getLocale } from '$lib/paraglide/runtime';
import { getDb } from '$lib/server/db';
import { describe } from '$lib/server/vault/download';
import { FileNotFoundError } from '$lib/server/vault/file-access';
import { requireReadable } from '$lib/server/vault/guard';
import { loadReferences, markingOf } from '$lib/server/vault/markings';
import type { PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
	const { document } = await requireReadable(event, event.params.id, 'document.preview');
	// No version to show (the denial is audited): the same 404 as the file routes, not a 500.
	const shown = await describe(audit.contextOf(event), document).catch((caught: unknown) => {
		if (caught instanceof FileNotFoundError) error(404, 'Not Found');
		throw caught;
	});
	const marking = markingOf(
		document,
		await loadReferences(getDb()),
		getLocale() === 'ja' ? 'ja' : 'en'
	);
	return {
		document: { id: document.id, title: document.title },
		version: shown.version,
		preview: shown.preview,
		marking
	};
};
