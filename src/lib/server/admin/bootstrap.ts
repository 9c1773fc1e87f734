import { eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { formText } from '$lib/schemas/text';
import * as audit from '../audit';
import * as enrolment from '../auth/enrolment';
import { enabledAgain, normaliseEmail } from '../auth/sign-in';
import { toNumber, type Database, type Executor } from '../db';
import { account, level, organisation } from '../db/schema';
import { DEFAULT_LEVELS, HOME_ORGANISATION } from '../seed/reference-data';

/**
 * The operator's way in. A production database is never seeded, and nobody can sign in to an
 * empty one: this adds the default level ladder and the home organisation when they are missing,
 * and an administrator while fewer than OPERATOR_ADMINISTRATORS are active or enrolling. Two, because the
 * two-person rule needs a second administrator to approve the first one's requests; the same
 * command brings back a disabled administrator (one locked out by wrong codes, say) when the
 * last one is gone. Once two administrators are active it refuses: from then on accounts are
 * made in the app. It runs from the command line (scripts/bootstrap.ts) with the app's own
 * configuration; every change is audited with no actor and `by: 'operator'`, and the person gets
 * a one-time link by mail, as any account created in the app does: the operator never sees it.
 */
export const OPERATOR_ADMINISTRATORS = 2;

// Any fixed 64-bit number: two operators running the command at once take turns.
const BOOTSTRAP_LOCK_KEY = 7_310_442_003;

export const bootstrapInput = z.object({
	email: z.string().transform((value, ctx) => {
		const email = normaliseEmail(value);
		if (!email || !/^[^@\s]+@[^@\s]+$/.test(email)) {
			ctx.addIssue({ code: 'custom', message: 'not an email address' });
			return z.NEVER;
		}
		return email;
	}),
	displayName: formText(200).min(1),
	reason: formText(2000).min(1)
});
export type BootstrapInput = z.input<typeof bootstrapInput>;

export type BootstrapResult =
	| {
			kind: 'done';
			accountId: number;
			/** What the command did, in order, for the operator to read. */
			steps: (
				| 'levels_created'
				| 'home_organisation_created'
				| 'administrator_created'
				| 'administrator_enabled'
				| 'link_sent'
			)[];
	  }
	| {
			kind: 'refused';
			reason: 'enough_administrators' | 'not_an_administrator' | 'already_active';
	  };

type Steps = Extract<BootstrapResult, { kind: 'done' }>['steps'];

/** Validates first (zod throws on bad input), then does everything in one transaction. */
export async function bootstrap(db: Database, raw: BootstrapInput): Promise<BootstrapResult> {
	const input = bootstrapInput.parse(raw);
	const context: audit.AuditContext = {
		actor: null,
		ip: null,
		userAgent: 'bootstrap command',
		requestId: `bootstrap-${crypto.randomUUID()}`
	};
	const operator = { by: 'operator', reason: input.reason };
	const done = await db.transaction(async (tx) => {
		await tx.execute(sql`select pg_advisory_xact_lock(${BOOTSTRAP_LOCK_KEY})`);
		const [admins] = await tx
			.select({
				active: sql`count(*) filter (where ${account.status} = 'active')`,
				pending: sql`count(*) filter (where ${account.status} = 'pending')`
			})
			.from(account)
			.where(sql`'administrator' = any(${account.roles})`);
		const active = toNumber(admins?.active);
		if (active >= OPERATOR_ADMINISTRATORS)
			return { kind: 'refused', reason: 'enough_administrators' } as const;

		const [existing] = await tx
			.select()
			.from(account)
			.where(eq(sql`lower(${account.email})`, input.email))
			.for('update');
		if (existing && !existing.roles.includes('administrator'))
			return { kind: 'refused', reason: 'not_an_administrator' } as const;
		if (existing?.status === 'active')
			return { kind: 'refused', reason: 'already_active' } as const;
		// A new administrator, or one enabled again, counts with those still enrolling: the
		// command cannot make more than two however often it runs before anyone enrols. A
		// pending one may always be sent a new link.
		if (
			existing?.status !== 'pending' &&
			active + toNumber(admins?.pending) >= OPERATOR_ADMINISTRATORS
		)
			return { kind: 'refused', reason: 'enough_administrators' } as const;

		const steps: Steps = [];
		let accountId = existing?.id;
		if (!existing) {
			const homeId = await ensureReferenceData(tx, context, operator, steps);
			const [created] = await tx
				.insert(account)
				.values({
					email: input.email,
					displayName: input.displayName,
					organisationId: homeId,
					roles: ['administrator'],
					status: 'pending'
				})
				.returning();
			accountId = created!.id;
			await audit.append(tx, {
				...context,
				action: 'account.created',
				outcome: 'allowed',
				target: { type: 'account', id: created!.id },
				details: { ...operator, roles: created!.roles, organisationId: homeId }
			});
			steps.push('administrator_created');
		} else if (existing.status === 'disabled') {
			// As an administrator's enabling does (accounts.enable); the link follows below.
			const { lockedOut, change } = enabledAgain(existing);
			await tx.update(account).set(change).where(eq(account.id, existing.id));
			await audit.append(tx, {
				...context,
				action: 'account.enabled',
				outcome: 'allowed',
				target: { type: 'account', id: existing.id },
				details: {
					...operator,
					before: { status: existing.status },
					after: { status: change.status },
					...(lockedOut ? { lockedOut: true, credentialsCleared: true } : {})
				}
			});
			steps.push('administrator_enabled');
		}
		// A new password and authenticator through the link: an administrator locked out by
		// wrong codes has a password someone else knows.
		const issued = await enrolment.issue(tx, {
			accountId: accountId!,
			purpose: existing?.passwordHash ? 'reset' : 'enrol',
			requestedBy: null,
			context
		});
		steps.push('link_sent');
		return { kind: 'done', accountId: accountId!, steps, send: issued.send } as const;
	});
	if (done.kind === 'refused') return done;
	// After the commit, as every link is sent: a rolled-back account never gets a mail. A failed
	// send throws to the operator, who runs the command again (a pending account gets a new link).
	await done.send();
	return { kind: 'done', accountId: done.accountId, steps: done.steps };
}

/** The default ladder when no level exists, the home organisation when none is marked home. */
async function ensureReferenceData(
	tx: Executor,
	context: audit.AuditContext,
	operator: Record<string, string>,
	steps: Steps
): Promise<number> {
	const [levels] = await tx.select({ n: sql`count(*)` }).from(level);
	if (toNumber(levels?.n) === 0) {
		await tx.insert(level).values([...DEFAULT_LEVELS]);
		await audit.append(tx, {
			...context,
			action: 'reference.changed',
			outcome: 'allowed',
			target: { type: 'level', id: 'ladder' },
			details: { ...operator, before: null, after: DEFAULT_LEVELS.map((l) => l.code) }
		});
		steps.push('levels_created');
	}
	const [home] = await tx
		.select({ id: organisation.id })
		.from(organisation)
		.where(eq(organisation.isHome, true));
	if (home) return home.id;
	const [created] = await tx.insert(organisation).values(HOME_ORGANISATION).returning();
	await audit.append(tx, {
		...context,
		action: 'reference.changed',
		outcome: 'allowed',
		target: { type: 'organisation', id: created!.id },
		details: { ...operator, before: null, after: { ...HOME_ORGANISATION } }
	});
	steps.push('home_organisation_created');
	return created!.id;
}
