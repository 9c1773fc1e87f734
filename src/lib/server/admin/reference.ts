import { asc, eq } from 'drizzle-orm';
import { isPlainName } from '../../schemas/admin';
import * as audit from '../audit';
import { sqlStateOf, UNIQUE_VIOLATION, type Database, type Executor } from '../db';
import { approvalRequest, compartment, level, organisation } from '../db/schema';
import { DEFAULT_LEVELS } from '../seed/reference-data';
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

/**
 * Characters drawn like another, grouped under the one they pass for once case is folded: the
 * digits and signs that stand in for Latin letters (UNRESTR1CTED, UNRE$TRICTED), the Latin
 * letters drawn like an I or l (so I, l, 1 and | all read as l), the Cyrillic and Greek letters
 * drawn like Latin capitals (written as escapes; the names' own check refuses those scripts,
 * this keeps the comparison right should it ever let one through), and the kana drawn like a
 * kanji (ー般 for 一般).
 */
const LOOK_ALIKE_GROUPS: [string, string][] = [
	['l', '1i|!\u00a1\u01c0\u01c3\u0269\u026a\u0456\u03b9'],
	['o', '0\u00f8\u3007\u043e\u03bf'],
	['s', '5$\u0455'],
	['a', '@\u0430\u03b1'],
	['b', '8\u0432\u03b2'],
	['e', '\u20ac\u0435\u03b5'],
	['c', '\u0441'],
	['d', '\u0501'],
	['h', '\u043d\u03b7'],
	['j', '\u0458'],
	['k', '\u043a\u03ba'],
	['m', '\u043c\u03bc'],
	['n', '\u03bd'],
	['p', '\u0440\u03c1'],
	['q', '\u051b'],
	['t', '\u0442\u03c4'],
	['w', '\u051d'],
	['x', '\u0445\u03c7'],
	['y', '\u0443\u03c5'],
	['z', '\u03b6'],
	['一', 'ー'],
	['口', 'ロ'],
	['力', 'カ'],
	['工', 'エ'],
	['夕', 'タ'],
	['二', 'ニ'],
	['八', 'ハ'],
	['卜', 'ト'],
	['へ', 'ヘ']
];
const LOOK_ALIKES: ReadonlyMap<string, string> = new Map(
	LOOK_ALIKE_GROUPS.flatMap(([letter, alikes]) => [...alikes].map((c) => [c, letter] as const))
);

/**
 * A name as a reader takes it in at a glance on a banner or in a list, so that two names a
 * reader could mistake share one: compatibility forms (full width, ligatures) decomposed, case
 * folded, accents and voiced marks set aside, look-alikes taken for what they pass for, and
 * everything that is not a letter or digit (spaces, punctuation, symbols) dropped; last, rn
 * reads as m and vv as w. `UNRESTRlCTED`, `Unrestricted.` and `ＵＮＲＥＳＴＲＩＣＴＥＤ*` all
 * give `unrestrlcted`.
 */
export function skeleton(name: string): string {
	const folded = name.normalize('NFKD').toUpperCase().toLowerCase().replace(/\p{M}/gu, '');
	return Array.from(folded, (c) => LOOK_ALIKES.get(c) ?? c)
		.join('')
		.replace(/[^\p{L}\p{N}]/gu, '')
		.replace(/rn/g, 'm')
		.replace(/vv/g, 'w');
}

/**
 * The names a banner or a list prints must be plain (the form's schema checks this too; this
 * is for any other caller) and name one row only: no name, in either language, nor a new code
 * may have the skeleton of a name or the code of another row of the same table (a partner
 * organisation shown as the home one, a new compartment under a sensitive one's name).
 * `others` are the table's other rows, read in the caller's transaction.
 */
function assertDistinctNames(
	others: { code: string; nameEn: string; nameJa: string }[],
	input: Names & { code?: string }
): void {
	if (![input.nameEn, input.nameJa].every(isPlainName)) throw new AdminError('name_characters');
	const code = input.code === undefined ? [] : [skeleton(input.code)];
	if (code.some((c) => others.some((o) => skeleton(o.code) === c)))
		throw new AdminError('code_taken', 409);
	const taken = others.flatMap((o) => [o.nameEn, o.nameJa, o.code].map(skeleton));
	if (
		[input.nameEn, input.nameJa]
			.map(skeleton)
			.concat(code)
			.some((n) => taken.includes(n))
	)
		throw new AdminError('name_taken', 409);
}

/** A level's name (or code) as its skeleton, with the rank of the level it names. */
interface RankedName {
	rank: number;
	skeleton: string;
}

const rankedNames = (l: { rank: number; code: string; nameEn: string; nameJa: string }) =>
	[l.code, l.nameEn, l.nameJa].map((n): RankedName => ({ rank: l.rank, skeleton: skeleton(n) }));

/** The default ladder's names (and codes) of each rank, as skeletons. */
const DEFAULT_NAMES: ReadonlyMap<number, readonly string[]> = new Map(
	DEFAULT_LEVELS.map((l) => [l.rank, rankedNames(l).map((n) => n.skeleton)])
);

/**
 * Whether a reader could take one level's name for another level's: their skeletons are one,
 * or one holds the other (UNRESTRICTED X, or 一般的, read as UNRESTRICTED or 一般). A name may
 * hold another only as the default ladder itself nests them (SECRET in TOP SECRET, RESTRICTED
 * in UNRESTRICTED, 秘 in 極秘): the held name is its rank's default name, and the holding one
 * still holds its own rank's default name, which holds the other; so TOP SECRET (TS) may stand
 * beside SECRET, but RESTRICT may not stand beside RESTRICTED.
 */
function readAsOneAnother(a: RankedName, b: RankedName): boolean {
	if (a.skeleton === b.skeleton) return true;
	const [held, holding] = a.skeleton.length < b.skeleton.length ? [a, b] : [b, a];
	if (!holding.skeleton.includes(held.skeleton)) return false;
	const nested =
		(DEFAULT_NAMES.get(held.rank) ?? []).includes(held.skeleton) &&
		(DEFAULT_NAMES.get(holding.rank) ?? []).some(
			(d) => d.includes(held.skeleton) && holding.skeleton.includes(d)
		);
	return !nested;
}

/**
 * A banner names its level in the reader's language, so a level's names must be plain and
 * neither read as, hold nor be held in (see `readAsOneAnother`) the name in either language or
 * the code of another level. Nor may they read so beside another rank's default name
 * (UNRESTRICTED, 一般, ...): each stays its own rank's, so that no chain of renames, each of
 * which alone names nothing twice (一般 to 一時, then TOP SECRET's 機密 to 一般), moves a
 * default name to another rank. `ladder` is every level, read in the caller's transaction.
 */
function assertDistinctLevelNames(
	ladder: { rank: number; code: string; nameEn: string; nameJa: string }[],
	rank: number,
	input: Names
): void {
	if (![input.nameEn, input.nameJa].every(isPlainName)) throw new AdminError('name_characters');
	const others = [...ladder, ...DEFAULT_LEVELS].filter((l) => l.rank !== rank).flatMap(rankedNames);
	const names = [input.nameEn, input.nameJa].map((n) => ({ rank, skeleton: skeleton(n) }));
	if (names.some((n) => others.some((o) => readAsOneAnother(n, o))))
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

/** The linear (not gamma-encoded) red, green and blue of a `#rrggbb` colour, each 0 to 1. */
function linearRgb(hex: string): [number, number, number] {
	const channel = (i: number) => {
		const c = parseInt(hex.slice(i, i + 2), 16) / 255;
		return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
	};
	return [channel(1), channel(3), channel(5)];
}

function luminance(hex: string): number {
	const [r, g, b] = linearRgb(hex);
	return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** CIE L*a*b* of a `#rrggbb` sRGB colour, against the D65 white. */
function lab(hex: string): [number, number, number] {
	const [r, g, b] = linearRgb(hex);
	const f = (t: number) => (t > 216 / 24389 ? Math.cbrt(t) : ((24389 / 27) * t + 16) / 116);
	const x = f((0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047);
	const y = f(0.2126 * r + 0.7152 * g + 0.0722 * b);
	const z = f((0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883);
	return [116 * y - 16, 500 * (x - y), 200 * (y - z)];
}

/** How far apart two `#rrggbb` colours look: CIE76 ΔE, the distance of their L*a*b*. */
export function colourDistance(a: string, b: string): number {
	const [p, q] = [lab(a), lab(b)];
	return Math.hypot(p[0] - q[0], p[1] - q[1], p[2] - q[2]);
}

/**
 * The least CIE76 ΔE between two levels' colours. Closer colours are told apart side by side
 * but not on one banner seen alone, where a level would pass for another by its colour (around
 * 2 is barely seen at all); the default ladder's closest pair, SECRET's red and TOP SECRET's
 * orange, is 16 apart.
 */
export const MIN_COLOUR_DISTANCE = 12;

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
		assertDistinctLevelNames(ladder, rank, input);
		// A banner shows its level by its colour as much as by its name: no colour may be taken,
		// nor one close enough to pass for it, from another level.
		if (
			ladder.some((l) => l.rank !== rank && colourDistance(l.colour, colour) < MIN_COLOUR_DISTANCE)
		)
			throw new AdminError('colour_too_similar', 409);
		const [after] = await tx
			.update(level)
			.set({ nameEn: input.nameEn, nameJa: input.nameJa, colour })
			.where(eq(level.rank, rank))
			.returning();
		await referenceChanged(tx, ctx, 'level', rank, before, after);
	});
}
