import { boolean, check, integer, pgTable, smallint, text, timestamp } from 'drizzle-orm/pg-core';
import { sql } from 'drizzle-orm';

export const organisation = pgTable('organisation', {
	id: integer().primaryKey().generatedAlwaysAsIdentity(),
	code: text().notNull().unique(),
	nameEn: text('name_en').notNull(),
	nameJa: text('name_ja').notNull(),
	isHome: boolean('is_home').notNull().default(false),
	createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow()
});

export const level = pgTable(
	'level',
	{
		rank: smallint().primaryKey(),
		code: text().notNull().unique(),
		nameEn: text('name_en').notNull(),
		nameJa: text('name_ja').notNull(),
		colour: text().notNull()
	},
	(t) => [
		check('level_rank_range', sql`${t.rank} between 0 and 100`),
		check('level_colour_hex', sql`${t.colour} ~ '^#[0-9a-f]{6}$'`)
	]
);

export const compartment = pgTable('compartment', {
	id: integer().primaryKey().generatedAlwaysAsIdentity(),
	code: text().notNull().unique(),
	nameEn: text('name_en').notNull(),
	nameJa: text('name_ja').notNull(),
	sensitive: boolean().notNull().default(false),
	createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow()
});

export type Organisation = typeof organisation.$inferSelect;
export type Level = typeof level.$inferSelect;
export type Compartment = typeof compartment.$inferSelect;
