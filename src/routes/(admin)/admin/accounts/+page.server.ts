import * as accounts from '$lib/server/admin/accounts';
import * as reference from '$lib/server/admin/reference';
import { guard } from '$lib/server/admin/http';
import { accountListQuery } from '$lib/schemas/admin';
import type { PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
	const { db } = await guard(event);
	const parsed = accountListQuery.safeParse(Object.fromEntries(event.url.searchParams));
	const query = parsed.success ? parsed.data : accountListQuery.parse({});
	const result = await accounts.list(db, query);
	return { query, ...result, levels: await reference.listLevels(db) };
};
