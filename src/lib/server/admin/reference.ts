import { asc, eq } from 'drizzle-orm';
import { isPlainName } from '../../schemas/admin';
import * as audit from '../audit';
import { sqlStateOf, UNIQUE_VIOLATION, type Database, type Executor } from '../db';
import { approvalRequest, compartment, level, organisation } from '../db/schema';
import { AdminError, assertAdministrator, requireText, type AdminContext } from './context';

export async function listOrganisations(executor: Executor) {
	return executor.select().from(organisation).orderBy(asc(organisation.code));
}

export async function listCompartments(executor: Executor) {
	return executor.select().from(compartment).orderBy(asc(compartment.code));
}

export async function listLevels(executor: Executor) {
	return executor.select().from(level).orderBy(asc(level.rank));
}

async function referenceChanged(
	tx: Executor,
	ctx: AdminContext,
	type: string,
	id: number | string,
	before: unknown,
	after: unknown,
	extra: Record<string, unknown> = {}
) {
	await audit.append(tx, {
		...ctx.audit,
		action: 'reference.changed',
		outcome: 'allowed',
		target: { type, id },
		details: { before, after, ...extra }
	});
}

export interface NamesInput {
	code: string;
	nameEn: string;
	nameJa: string;
}

type Names = { nameEn: string; nameJa: string };

/** A name as a reader would tell it from another: width, case and spacing set aside. */
function comparable(name: string): string {
	return name.normalize('NFKC').trim().replace(/\s+/g, ' ').toLowerCase();
}

/**
 * The names a banner or a list prints must be plain (the form's schema checks this too; this
 * is for any other caller) and name one row only: no name, in either language, nor a new code
 * may read, once normalised, as a name or the code of another row of the same table (a
 * partner organisation shown as the home one, a new compartment under a sensitive one's name).
 * `others` are the table's other rows, read in the caller's transaction.
 */
function assertDistinctNames(
	others: { code: string; nameEn: string; nameJa: string }[],
	input: Names & { code?: string }
): void {
	if (![input.nameEn, input.nameJa].every(isPlainName)) throw new AdminError('name_characters');
	const code = input.code === undefined ? [] : [comparable(input.code)];
	if (code.some((c) => others.some((o) => comparable(o.code) === c)))
		throw new AdminError('code_taken', 409);
	const taken = others.flatMap((o) => [o.nameEn, o.nameJa, o.code].map(comparable));
	if (
		[input.nameEn, input.nameJa]
			.map(comparable)
			.concat(code)
			.some((n) => taken.includes(n))
	)
		throw new AdminError('name_taken', 409);
}

/**
 * Inserts one reference row (by `insert`) and its audit event, once `rows` (the table's rows)
 * show its code and names free; a taken code is a 409.
 */
async function createReference<Row extends { id: number }>(
	db: Database,
	ctx: AdminContext,
	type: 'organisation' | 'compartment',
	input: NamesInput,
	rows: (tx: Executor) => Promise<{ code: string; nameEn: string; nameJa: string }[]>,
	insert: (tx: Executor) => Promise<Row[]>
): Promise<Row> {
	try {
		return await db.transaction(async (tx) => {
			await assertAdministrator(tx, ctx);
			assertDistinctNames(await rows(tx), input);
			const [created] = await insert(tx);
			await referenceChanged(tx, ctx, type, created!.id, null, created);
			return created!;
		});
	} catch (error) {
		if (sqlStateOf(error) === UNIQUE_VIOLATION) throw new AdminError('code_taken', 409);
		throw error;
	}
}

/**
 * Renames one reference row: `rows` returns the table's rows, `write` the row after; audited.
 * The new names must be plain and no other row's.
 */
async function renameReference<Row extends { id: number; code: string } & Names>(
	db: Database,
	ctx: AdminContext,
	type: 'organisation' | 'compartment',
	id: number,
	input: Names,
	rows: (tx: Executor) => Promise<Row[]>,
	write: (tx: Executor) => Promise<Row[]>
): Promise<void> {
	await db.transaction(async (tx) => {
		await assertAdministrator(tx, ctx);
		const all = await rows(tx);
		const before = all.find((r) => r.id === id);
		if (!before) throw new AdminError('not_found', 404);
		assertDistinctNames(
			all.filter((r) => r.id !== id),
			input
		);
		const [after] = await write(tx);
		await referenceChanged(tx, ctx, type, id, before, after);
	});
}

export function createOrganisation(db: Database, ctx: AdminContext, input: NamesInput) {
	const values = { code: input.code, nameEn: input.nameEn, nameJa: input.nameJa };
	return createReference(
		db,
		ctx,
		'organisation',
		values,
		(tx) => tx.select().from(organisation).for('update'),
		(tx) => tx.insert(organisation).values(values).returning()
	);
}

export function renameOrganisation(db: Database, ctx: AdminContext, id: number, input: Names) {
	return renameReference(
		db,
		ctx,
		'organisation',
		id,
		input,
		(tx) => tx.select().from(organisation).for('update'),
		(tx) => tx.update(organisation).set(input).where(eq(organisation.id, id)).returning()
	);
}

/** A new compartment may start sensitive (that only narrows); clearing the flag needs approval. */
export function createCompartment(
	db: Database,
	ctx: AdminContext,
	input: NamesInput & { sensitive: boolean }
) {
	return createReference(
		db,
		ctx,
		'compartment',
		input,
		(tx) => tx.select().from(compartment).for('update'),
		(tx) => tx.insert(compartment).values(input).returning()
	);
}

export function renameCompartment(db: Database, ctx: AdminContext, id: number, input: Names) {
	return renameReference(
		db,
		ctx,
		'compartment',
		id,
		input,
		(tx) => tx.select().from(compartment).for('update'),
		(tx) => tx.update(compartment).set(input).where(eq(compartment.id, id)).returning()
	);
}

/** Setting or clearing the sensitive flag waits for a second administrator. */
export async function requestSensitiveChange(
	db: Database,
	ctx: AdminContext,
	input: { compartmentId: number; sensitive: boolean; justification: string }
): Promise<{ requestId: number }> {
	const justification = requireText(input.justification);
	return db.transaction(async (tx) => {
		await assertAdministrator(tx, ctx);
		const [row] = await tx
			.select()
			.from(compartment)
			.where(eq(compartment.id, input.compartmentId));
		if (!row) throw new AdminError('not_found', 404);
		if (row.sensitive === input.sensitive) throw new AdminError('no_change');
		const payload = { compartmentId: row.id, code: row.code, sensitive: input.sensitive };
		const [created] = await tx
			.insert(approvalRequest)
			.values({ kind: 'compartment_sensitive', payload, justification, requestedBy: ctx.actor.id })
			.returning({ id: approvalRequest.id });
		await audit.append(tx, {
			...ctx.audit,
			action: 'approval.requested',
			outcome: 'allowed',
			target: { type: 'approval_request', id: created!.id },
			details: { kind: 'compartment_sensitive', payload, justification }
		});
		return { requestId: created!.id };
	});
}

export async function applySensitive(
	tx: Executor,
	ctx: AdminContext,
	compartmentId: number,
	sensitive: boolean,
	approvalRequestId: number
) {
	const [before] = await tx
		.select()
		.from(compartment)
		.where(eq(compartment.id, compartmentId))
		.for('update');
	if (!before) throw new AdminError('not_found', 404);
	if (before.sensitive === sensitive) throw new AdminError('no_change', 409);
	const [after] = await tx
		.update(compartment)
		.set({ sensitive })
		.where(eq(compartment.id, compartmentId))
		.returning();
	await referenceChanged(tx, ctx, 'compartment', compartmentId, before, after, {
		approvalRequestId
	});
}

function luminance(hex: string): number {
	const channel = (i: number) => {
		const c = parseInt(hex.slice(i, i + 2), 16) / 255;
		return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
	};
	return 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
}

/** WCAG contrast of white banner text on the level colour. */
export function contrastWithWhite(hex: string): number {
	return 1.05 / (luminance(hex) + 0.05);
}

export const MIN_CONTRAST = 4.5;

/** Level colours carry white marking text, so each must keep WCAG AA contrast against white. */
export function normaliseColour(value: string): string {
	const colour = value.trim().toLowerCase();
	if (!/^#[0-9a-f]{6}$/.test(colour)) throw new AdminError('invalid_colour');
	if (contrastWithWhite(colour) < MIN_CONTRAST) throw new AdminError('low_contrast');
	return colour;
}

export async function updateLevel(
	db: Database,
	ctx: AdminContext,
	rank: number,
	input: { nameEn: string; nameJa: string; colour: string }
) {
	const colour = normaliseColour(input.colour);
	await db.transaction(async (tx) => {
		await assertAdministrator(tx, ctx);
		// Every level's row locked: two renames at once cannot give two levels one name.
		const ladder = await tx.select().from(level).for('update');
		const before = ladder.find((l) => l.rank === rank);
		if (!before) throw new AdminError('not_found', 404);
		// A banner names its level: its names are plain, and no name (in either language) nor
		// code of another level, as it would read once normalised, may name this one.
		assertDistinctNames(
			ladder.filter((l) => l.rank !== rank),
			input
		);
		const [after] = await tx
			.update(level)
			.set({ nameEn: input.nameEn, nameJa: input.nameJa, colour })
			.where(eq(level.rank, rank))
			.returning();
		await referenceChanged(tx, ctx, 'level', rank, before, after);
	});
}
