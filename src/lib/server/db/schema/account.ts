import { sql } from 'drizzle-orm';
import {
	bigint,
	check,
	customType,
	index,
	integer,
	pgTable,
	smallint,
	text,
	timestamp,
	uniqueIndex
} from 'drizzle-orm/pg-core';
import { compartment, level, organisation } from './reference';

export const bytea = customType<{ data: Uint8Array; driverData: Uint8Array }>({
	dataType: () => 'bytea',
	fromDriver: (value) => new Uint8Array(value)
});

export const ROLES = ['staff', 'liaison', 'administrator', 'auditor'] as const;
export type Role = (typeof ROLES)[number];

export const ACCOUNT_STATUSES = ['pending', 'active', 'disabled'] as const;
export type AccountStatus = (typeof ACCOUNT_STATUSES)[number];

export const account = pgTable(
	'account',
	{
		id: integer().primaryKey().generatedAlwaysAsIdentity(),
		email: text().notNull(),
		displayName: text('display_name').notNull(),
		organisationId: integer('organisation_id')
			.notNull()
			.references(() => organisation.id),
		roles: text()
			.array()
			.notNull()
			.default(sql`'{}'::text[]`)
			.$type<Role[]>(),
		status: text().notNull().default('pending').$type<AccountStatus>(),
		passwordHash: text('password_hash'),
		totpSecret: bytea('totp_secret'),
		totpKeyId: text('totp_key_id'),
		// The last accepted TOTP time step: a code at or before it is a replay.
		totpLastStep: bigint('totp_last_step', { mode: 'number' }),
		locale: text(),
		timeZone: text('time_zone'),
		createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
		createdBy: integer('created_by'),
		lastSignInAt: timestamp('last_sign_in_at', { withTimezone: true }),
		disabledAt: timestamp('disabled_at', { withTimezone: true }),
		// Wrong second-factor codes since the last accepted one (or since an administrator
		// enabled the account again); at SECOND_FACTOR_LOCKOUT the account is locked.
		secondFactorFailures: integer('second_factor_failures').notNull().default(0)
	},
	(t) => [
		uniqueIndex('account_email_key').on(sql`lower(${t.email})`),
		index('account_organisation_idx').on(t.organisationId),
		check(
			'account_separation_of_duties',
			sql`not (${t.roles} @> array['administrator','auditor']::text[])`
		),
		check('account_status_valid', sql`${t.status} in ('pending','active','disabled')`),
		check(
			'account_roles_valid',
			sql`${t.roles} <@ array['staff','liaison','administrator','auditor']::text[]`
		)
	]
);

export const GRANT_KINDS = ['level', 'compartment'] as const;
export type GrantKind = (typeof GRANT_KINDS)[number];

/**
 * Clearance grants. Effective access at a moment is computed from the rows valid then
 * (valid_from <= now < valid_until, not revoked), so expiry needs no background job.
 */
export const grant = pgTable(
	'grant',
	{
		id: integer().primaryKey().generatedAlwaysAsIdentity(),
		accountId: integer('account_id')
			.notNull()
			.references(() => account.id),
		kind: text().notNull().$type<GrantKind>(),
		levelRank: smallint('level_rank').references(() => level.rank),
		compartmentId: integer('compartment_id').references(() => compartment.id),
		reason: text().notNull(),
		grantedBy: integer('granted_by').references(() => account.id),
		approvedBy: integer('approved_by').references(() => account.id),
		grantedAt: timestamp('granted_at', { withTimezone: true }).notNull().defaultNow(),
		validFrom: timestamp('valid_from', { withTimezone: true }).notNull().defaultNow(),
		validUntil: timestamp('valid_until', { withTimezone: true }),
		revokedAt: timestamp('revoked_at', { withTimezone: true }),
		revokedBy: integer('revoked_by').references(() => account.id),
		revokeReason: text('revoke_reason'),
		attestedAt: timestamp('attested_at', { withTimezone: true }),
		attestedBy: integer('attested_by').references(() => account.id)
	},
	(t) => [
		index('grant_account_idx').on(t.accountId),
		check(
			'grant_kind_target',
			sql`(${t.kind} = 'level' and ${t.levelRank} is not null and ${t.compartmentId} is null)
			 or (${t.kind} = 'compartment' and ${t.compartmentId} is not null and ${t.levelRank} is null)`
		),
		check('grant_reason_present', sql`length(btrim(${t.reason})) > 0`)
	]
);

export type Account = typeof account.$inferSelect;
export type Grant = typeof grant.$inferSelect;
