import { eq } from 'drizzle-orm';
import { effectiveAccess } from '../access';
import type { SessionUser } from '../auth/types';
import type { Executor } from '../db';
import { organisation } from '../db/schema';
import type { Writer } from './write-rule';

/** The home organisation (JISS): the one every liaison's document is also released to. */
export async function homeOrganisationId(executor: Executor): Promise<number> {
	const [home] = await executor
		.select({ id: organisation.id })
		.from(organisation)
		.where(eq(organisation.isHome, true))
		.orderBy(organisation.id)
		.limit(1);
	if (!home) throw new Error('No home organisation is configured');
	return home.id;
}

/**
 * A signed-in person's access as of this request (computed from the grants valid now, so a
 * revocation counts on the very next request) together with their roles. Null for an account
 * that is no longer active.
 */
export async function readerOf(executor: Executor, user: SessionUser): Promise<Writer | null> {
	const [access, homeOrgId] = await Promise.all([
		effectiveAccess(executor, user.id),
		homeOrganisationId(executor)
	]);
	if (!access) return null;
	return { access, roles: user.roles, homeOrgId };
}
