import { and, eq, sql } from 'drizzle-orm';
import { m } from '../../paraglide/messages';
import * as audit from '../audit';
import type { SessionUser } from '../auth/types';
import * as background from '../background';
import { getDb, type Database, type Executor } from '../db';
import { account, compartment, level, setting } from '../db/schema';
import { log } from '../log';
import type { Mailer } from '../mail';
import * as approvals from './approvals';
import * as grants from './grants';
import { EXPIRING_DAYS } from './review';

/** What an administrator's home page shows: the approvals queue and grants ending soon. */
export async function homePanel(executor: Executor, now: Date = new Date()) {
	const pending = await approvals.listPending(executor);
	const expiring = await grants.expiringWithin(executor, EXPIRING_DAYS, now);
	const levels = await executor.select().from(level);
	const compartments = await executor.select().from(compartment);
	const labelOf = (g: { kind: string; levelRank: number | null; compartmentId: number | null }) =>
		g.kind === 'level'
			? (levels.find((l) => l.rank === g.levelRank)?.code ?? '?')
			: (compartments.find((c) => c.id === g.compartmentId)?.code ?? '?');
	return {
		pendingCount: pending.length,
		pending: pending.slice(0, 5).map((p) => ({
			id: p.id,
			kind: p.kind,
			subjectName: p.subjectName,
			requesterName: p.requesterName,
			requestedAt: p.requestedAt
		})),
		expiringCount: expiring.length,
		expiring: expiring.slice(0, 10).map((g) => ({
			grantId: g.id,
			accountId: g.accountId,
			accountName: g.accountName,
			what: labelOf(g),
			validUntil: g.validUntil!
		}))
	};
}
export type AdminHomePanel = Awaited<ReturnType<typeof homePanel>>;

/**
 * For the home page's load: the panel for an administrator, null for anyone else (the page
 * renders `AdminPanel` only when this is not null).
 */
export async function panelFor(user: SessionUser | null): Promise<AdminHomePanel | null> {
	if (!user?.roles.includes('administrator')) return null;
	return homePanel(getDb());
}

// Bookkeeping for the notices lives in the settings table under a key no form offers.
const SENT_KEY = 'admin_notices_sent';

interface Sent {
	day: string;
	keys: string[];
}

/**
 * Mails every active administrator about approvals waiting and grants ending within 14 days
 * that were not yet announced today. The row lock makes several instances announce once; the
 * mail goes out before the commit, so a failed send is retried on the next run.
 */
export async function notifyAdministrators(
	db: Database,
	mailer: Mailer,
	now: Date = new Date()
): Promise<{ items: number; recipients: number }> {
	return db.transaction(async (tx) => {
		await tx
			.insert(setting)
			.values({ key: SENT_KEY, value: { day: '', keys: [] } })
			.onConflictDoNothing();
		const [row] = await tx.select().from(setting).where(eq(setting.key, SENT_KEY)).for('update');
		const day = now.toISOString().slice(0, 10);
		const stored = row?.value as Sent | undefined;
		const sent = new Set(stored && stored.day === day ? stored.keys : []);

		const panel = await homePanel(tx, now);
		const pending = (await approvals.listPending(tx)).filter((p) => !sent.has(`approval:${p.id}`));
		const expiring = (await grants.expiringWithin(tx, EXPIRING_DAYS, now)).filter(
			(g) => !sent.has(`expiring:${g.id}`)
		);
		const items = pending.length + expiring.length;
		if (items === 0) return { items: 0, recipients: 0 };

		const admins = await tx
			.select({ email: account.email, locale: account.locale })
			.from(account)
			.where(
				and(eq(account.status, 'active'), sql`${account.roles} @> array['administrator']::text[]`)
			);
		const expiringLabel = new Map(panel.expiring.map((e) => [e.grantId, e.what]));
		for (const admin of admins) {
			const locale = admin.locale === 'ja' ? 'ja' : 'en';
			const lines = [
				m.admin_notice_intro({}, { locale }),
				'',
				...pending.map((p) =>
					m.admin_notice_pending(
						{ id: p.id, kind: p.kind, subject: p.subjectName ?? '-', requester: p.requesterName },
						{ locale }
					)
				),
				...expiring.map((g) =>
					m.admin_notice_expiring(
						{
							name: g.accountName,
							what: expiringLabel.get(g.id) ?? g.kind,
							until: g.validUntil!.toISOString()
						},
						{ locale }
					)
				)
			];
			await mailer.send({
				to: admin.email,
				subject: m.admin_notice_subject({ count: items }, { locale }),
				text: lines.join('\n')
			});
		}
		for (const p of pending) sent.add(`approval:${p.id}`);
		for (const g of expiring) sent.add(`expiring:${g.id}`);
		await tx
			.update(setting)
			.set({ value: { day, keys: [...sent] }, updatedAt: now })
			.where(eq(setting.key, SENT_KEY));
		await audit.append(tx, {
			action: 'admin.notified',
			outcome: 'allowed',
			target: { type: 'notice', id: day },
			details: {
				approvals: pending.map((p) => p.id),
				expiringGrants: expiring.map((g) => g.id),
				recipients: admins.length
			}
		});
		return { items, recipients: admins.length };
	});
}

/**
 * The periodic check, started from the server's startup. Returns a function that stops it.
 */
export function startNotices(
	getDb: () => Database,
	getMailer: () => Mailer,
	everyMs = 15 * 60_000
): () => void {
	const run = () =>
		background.track(
			notifyAdministrators(getDb(), getMailer()).catch((err: unknown) =>
				log.error({ err }, 'administrator notices failed')
			)
		);
	const first = setTimeout(run, 30_000);
	const timer = setInterval(run, everyMs);
	first.unref();
	timer.unref();
	return () => {
		clearTimeout(first);
		clearInterval(timer);
	};
}
