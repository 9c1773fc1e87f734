import { and, eq, gt, inArray, isNull, lt, notExists, sql, type SQLWrapper } from 'drizzle-orm';
import * as audit from '../audit';
import type { AuditContext } from '../audit';
import type { SessionUser } from '../auth/types';
import type { Database, Executor } from '../db';
import { auditEvent, grant } from '../db/schema';

/**
 * Grants of the account that ended inside the session (after it started, by now on the
 * database's clock, the clock the access rule uses) while not revoked, and that no
 * `grant.expired_in_use` event has been recorded for yet. One query on the account's grants
 * (grant_account_idx) with the event check on audit_event_target_idx.
 */
export function expiredDuring(
	executor: Executor,
	accountId: number | SQLWrapper,
	sessionStart: Date | SQLWrapper,
	ids?: number[]
) {
	return executor
		.select({
			id: grant.id,
			kind: grant.kind,
			levelRank: grant.levelRank,
			compartmentId: grant.compartmentId,
			validUntil: grant.validUntil
		})
		.from(grant)
		.where(
			and(
				eq(grant.accountId, accountId),
				ids ? inArray(grant.id, ids) : undefined,
				isNull(grant.revokedAt),
				gt(grant.validUntil, sessionStart),
				sql`${grant.validUntil} <= clock_timestamp()`,
				// A grant that ended before it began never gave access, so was never in use.
				lt(grant.validFrom, grant.validUntil),
				notExists(
					executor
						.select({ one: sql`1` })
						.from(auditEvent)
						.where(
							and(
								eq(auditEvent.targetType, 'grant'),
								eq(auditEvent.targetId, sql`${grant.id}::text`),
								eq(auditEvent.action, 'grant.expired_in_use')
							)
						)
				)
			)
		)
		.orderBy(grant.id);
}

/**
 * Records `grant.expired_in_use` for each grant of a signed-in person that reached its end
 * while their session was live: the access rule silently stops counting it on this request, and
 * auditors must see that access under it ended in use. Semantics: "in use" means the grant ended
 * after the session began; a grant that had already ended before sign-in never counted during
 * the session and is not recorded. Each grant is recorded once: the grant rows are locked in the
 * transaction and the check repeated under the lock, so concurrent requests of the same person
 * cannot both record it. Outcome `denied`: the event marks the grant's access being refused from
 * now on (the request itself may still succeed on the person's other grants).
 *
 * The common case (nothing ended during the session) costs one small indexed query.
 */
export async function recordExpiredGrants(
	db: Database,
	user: SessionUser,
	sessionStart: Date | null | undefined,
	context: AuditContext
): Promise<number> {
	if (!sessionStart) return 0;
	const candidates = await expiredDuring(db, user.id, sessionStart);
	if (candidates.length === 0) return 0;
	return db.transaction(async (tx) => {
		const ids = candidates.map((c) => c.id);
		await tx.select({ id: grant.id }).from(grant).where(inArray(grant.id, ids)).for('update');
		// A new statement after the lock: it sees events committed by whoever held the lock.
		const fresh = await expiredDuring(tx, user.id, sessionStart, ids);
		await audit.appendMany(
			tx,
			fresh.map((g) => ({
				...context,
				action: 'grant.expired_in_use' as const,
				outcome: 'denied' as const,
				target: { type: 'grant', id: g.id },
				details: {
					grantId: g.id,
					accountId: user.id,
					kind: g.kind,
					...(g.kind === 'level' ? { levelRank: g.levelRank } : { compartmentId: g.compartmentId }),
					validUntil: g.validUntil?.toISOString() ?? null,
					sessionStart: sessionStart.toISOString()
				}
			}))
		);
		return fresh.length;
	});
}
