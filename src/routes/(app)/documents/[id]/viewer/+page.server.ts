import * as audit from '$lib/server/audit';
import { getLocale } from '$lib/paraglide/runtime';
import { getDb } from '$lib/server/db';
import { describe } from '$lib/server/vault/download';
import { requireReadable } from '$lib/server/vault/guard';
import { loadReferences, markingOf } from '$lib/server/vault/markings';
import type { PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
	const { document } = await requireReadable(event, event.params.id, 'document.preview');
	const shown = await describe(audit.contextOf(event), document);
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
