import { asc } from 'drizzle-orm';
import type { Executor } from '../db';
import { compartment, level, organisation } from '../db/schema';

export type MarkingLocale = 'en' | 'ja';

export interface LevelRef {
	rank: number;
	code: string;
	nameEn: string;
	nameJa: string;
	colour: string;
}
export interface CodeRef {
	id: number;
	code: string;
	nameEn: string;
	nameJa: string;
}
export interface OrganisationRef extends CodeRef {
	isHome: boolean;
}

/** The reference tables a marking is written from; small, read once per request. */
export interface References {
	levels: LevelRef[];
	compartments: (CodeRef & { sensitive: boolean })[];
	organisations: OrganisationRef[];
}

export async function loadReferences(executor: Executor): Promise<References> {
	const [levels, compartments, organisations] = await Promise.all([
		executor
			.select({
				rank: level.rank,
				code: level.code,
				nameEn: level.nameEn,
				nameJa: level.nameJa,
				colour: level.colour
			})
			.from(level)
			.orderBy(asc(level.rank)),
		executor
			.select({
				id: compartment.id,
				code: compartment.code,
				nameEn: compartment.nameEn,
				nameJa: compartment.nameJa,
				sensitive: compartment.sensitive
			})
			.from(compartment)
			.orderBy(asc(compartment.code)),
		executor
			.select({
				id: organisation.id,
				code: organisation.code,
				nameEn: organisation.nameEn,
				nameJa: organisation.nameJa,
				isHome: organisation.isHome
			})
			.from(organisation)
			.orderBy(asc(organisation.code))
	]);
	return { levels, compartments, organisations };
}

export interface Markable {
	levelRank: number;
	compartmentIds: readonly number[];
	releaseOrgIds: readonly number[];
}

export interface Marking {
	/** e.g. `SECRET//SDA//REL TO JISS, USA` or `極秘//SDA//REL TO JISS, USA`. */
	text: string;
	levelName: string;
	levelRank: number;
	/** Background colour from the level table. */
	colour: string;
	/** Black or white, whichever contrasts more with the background (WCAG AA). */
	textColour: '#000000' | '#ffffff';
}

function channel(value: number): number {
	const c = value / 255;
	return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
}

function luminance(hex: string): number {
	const n = Number.parseInt(hex.slice(1), 16);
	return (
		0.2126 * channel((n >> 16) & 255) + 0.7152 * channel((n >> 8) & 255) + 0.0722 * channel(n & 255)
	);
}

export function contrastRatio(a: string, b: string): number {
	const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
	return (hi + 0.05) / (lo + 0.05);
}

const textColours = new Map<string, '#000000' | '#ffffff'>();

/**
 * Black or white, whichever contrasts more with the level's colour. Every banner and list entry
 * asks (a list page 25 times), for a handful of colours: each is worked out once.
 */
export function textColourFor(background: string): '#000000' | '#ffffff' {
	let colour = textColours.get(background);
	if (colour === undefined) {
		colour =
			contrastRatio(background, '#ffffff') >= contrastRatio(background, '#000000')
				? '#ffffff'
				: '#000000';
		// Level colours are few; a store that somehow sees many keeps only the latest.
		if (textColours.size >= 256) textColours.clear();
		textColours.set(background, colour);
	}
	return colour;
}

export function levelName(levelRef: LevelRef, locale: MarkingLocale): string {
	return locale === 'ja' ? levelRef.nameJa : levelRef.nameEn;
}

/**
 * The banner line. Compartment and organisation codes are the same in both languages (they
 * are codewords); the level name is the reader's. Compartments sort by code, releasability
 * lists the home organisation first, then the others by code.
 */
export function markingOf(doc: Markable, refs: References, locale: MarkingLocale): Marking {
	const levelRef = refs.levels.find((l) => l.rank === doc.levelRank) ?? {
		rank: doc.levelRank,
		code: String(doc.levelRank),
		nameEn: `LEVEL ${doc.levelRank}`,
		nameJa: `レベル${doc.levelRank}`,
		colour: '#334155'
	};
	const name = levelName(levelRef, locale);
	const compartments = refs.compartments
		.filter((c) => doc.compartmentIds.includes(c.id))
		.map((c) => c.code)
		.sort();
	const orgs = refs.organisations
		.filter((o) => doc.releaseOrgIds.includes(o.id))
		.sort((a, b) => Number(b.isHome) - Number(a.isHome) || a.code.localeCompare(b.code))
		.map((o) => o.code);
	const parts = [name];
	if (compartments.length > 0) parts.push(compartments.join('/'));
	if (orgs.length > 0) parts.push(`REL TO ${orgs.join(', ')}`);
	return {
		text: parts.join('//'),
		levelName: name,
		levelRank: levelRef.rank,
		colour: levelRef.colour,
		textColour: textColourFor(levelRef.colour)
	};
}
