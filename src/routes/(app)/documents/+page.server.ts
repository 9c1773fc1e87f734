import { parseListQuery } from '$lib/schemas/documents';
import { pages, requireVaultUser, vaultContext } from '$lib/server/vault';
import type { PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
	const vault = await requireVaultUser(event);
	const ctx = vaultContext(event, vault);
	const query = parseListQuery(event.url.searchParams);
	const result = await pages.listPage(ctx, query);
	return { ...result, query };
};
