import { desc, eq } from 'drizzle-orm';
import type { Database } from '../../src/lib/server/db';
import { account, auditEvent, grant } from '../../src/lib/server/db/schema';

/** The newest audit event of an action, or undefined. */
export async function newestEvent(db: Database, action: string) {
	const [event] = await db
		.select()
		.from(auditEvent)
		.where(eq(auditEvent.action, action))
		.orderBy(desc(auditEvent.seq))
		.limit(1);
	return event;
}

/**
 * A second auditor (`cleared.auditor@jiss.example`) in `organisationId`, read in to exactly what
 * `likeAccountId` holds: the auditor who may read the documents the demo auditor may not.
 */
export async function createClearedAuditor(
	db: Database,
	organisationId: number,
	likeAccountId: number
): Promise<number> {
	const [created] = await db
		.insert(account)
		.values({
			email: 'cleared.auditor@jiss.example',
			displayName: 'Cleared Auditor',
			organisationId,
			roles: ['auditor'],
			status: 'active'
		})
		.returning({ id: account.id });
	const grants = await db.select().from(grant).where(eq(grant.accountId, likeAccountId));
	await db.insert(grant).values(
		grants.map((g) => ({
			accountId: created!.id,
			kind: g.kind,
			levelRank: g.levelRank,
			compartmentId: g.compartmentId,
			reason: 'Audit of restricted holdings',
			grantedBy: g.grantedBy
		}))
	);
	return created!.id;
}
