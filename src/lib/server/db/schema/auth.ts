import { boolean, index, integer, pgTable, text, timestamp } from 'drizzle-orm/pg-core';
import { account, bytea } from './account';

/** Sessions the Lucia way: the cookie holds `id.secret`, the table only SHA-256(secret). */
export const session = pgTable(
	'session',
	{
		id: text().primaryKey(),
		secretHash: bytea('secret_hash').notNull(),
		accountId: integer('account_id')
			.notNull()
			.references(() => account.id),
		mfaVerified: boolean('mfa_verified').notNull().default(false),
		createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
		lastSeenAt: timestamp('last_seen_at', { withTimezone: true }).notNull().defaultNow(),
		absoluteExpiresAt: timestamp('absolute_expires_at', { withTimezone: true }).notNull(),
		ip: text(),
		userAgent: text('user_agent')
	},
	(t) => [index('session_account_idx').on(t.accountId)]
);

/** One-time links for enrolment and resets; only SHA-256 of the token is kept. */
export const enrolment = pgTable(
	'enrolment',
	{
		id: integer().primaryKey().generatedAlwaysAsIdentity(),
		accountId: integer('account_id')
			.notNull()
			.references(() => account.id),
		tokenHash: bytea('token_hash').notNull().unique(),
		purpose: text().notNull().$type<'enrol' | 'reset'>(),
		requestedBy: integer('requested_by').references(() => account.id),
		createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
		expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
		usedAt: timestamp('used_at', { withTimezone: true })
	},
	(t) => [index('enrolment_account_idx').on(t.accountId)]
);

export const recoveryCode = pgTable(
	'recovery_code',
	{
		id: integer().primaryKey().generatedAlwaysAsIdentity(),
		accountId: integer('account_id')
			.notNull()
			.references(() => account.id),
		codeHash: bytea('code_hash').notNull(),
		usedAt: timestamp('used_at', { withTimezone: true })
	},
	(t) => [index('recovery_code_account_idx').on(t.accountId)]
);

/** Failed-attempt counters, kept in the database so every app instance sees the same ones. */
export const throttle = pgTable('throttle', {
	key: text().primaryKey(),
	failures: integer().notNull().default(0),
	lockedUntil: timestamp('locked_until', { withTimezone: true }),
	updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow()
});

export type Session = typeof session.$inferSelect;
