import * as accounts from '$lib/server/admin/accounts';
import * as reference from '$lib/server/admin/reference';
import { guard } from '$lib/server/admin/http';
import { accountListQuery } from '$lib/schemas/admin';
import type { PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
	const { db } = await guard(event);
	const query = accountListQuery.parse(Object.fromEntries(event.url.searchParams));
	const result = await accounts.list(db, query);
	return { query, ...result, levels: await reference.listLevels(db) };
};
