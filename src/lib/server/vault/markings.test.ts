import { describe, expect, it } from 'vitest';
import { DEFAULT_LEVELS } from '../seed/demo-data';
import { contrastRatio, markingOf, textColourFor, type References } from './markings';

const refs: References = {
	levels: [...DEFAULT_LEVELS],
	compartments: [
		{
			id: 1,
			code: 'SDA',
			nameEn: 'Space Domain Awareness',
			nameJa: '宇宙領域把握',
			sensitive: false
		},
		{ id: 2, code: 'MD', nameEn: 'Missile Defence', nameJa: 'ミサイル防衛', sensitive: true }
	],
	organisations: [
		{ id: 5, code: 'USA', nameEn: 'USA', nameJa: '米国', isHome: false },
		{ id: 3, code: 'AUS', nameEn: 'AUS', nameJa: '豪州', isHome: false },
		{ id: 9, code: 'JISS', nameEn: 'JISS', nameJa: 'JISS', isHome: true }
	]
};

describe('markings', () => {
	it('writes the banner in the reader language, home organisation first', () => {
		const doc = { levelRank: 3, compartmentIds: [1], releaseOrgIds: [5, 9] };
		expect(markingOf(doc, refs, 'en').text).toBe('SECRET//SDA//REL TO JISS, USA');
		expect(markingOf(doc, refs, 'ja').text).toBe('極秘//SDA//REL TO JISS, USA');
	});

	it('sorts compartments and organisations and leaves out an empty compartment part', () => {
		expect(
			markingOf({ levelRank: 4, compartmentIds: [2, 1], releaseOrgIds: [5, 3, 9] }, refs, 'en').text
		).toBe('TOP SECRET//MD/SDA//REL TO JISS, AUS, USA');
		expect(
			markingOf({ levelRank: 0, compartmentIds: [], releaseOrgIds: [9] }, refs, 'ja').text
		).toBe('一般//REL TO JISS');
	});

	it('takes colours from the level table with readable text on them', () => {
		for (const level of DEFAULT_LEVELS) {
			const marking = markingOf(
				{ levelRank: level.rank, compartmentIds: [], releaseOrgIds: [9] },
				refs,
				'en'
			);
			expect(marking.colour).toBe(level.colour);
			expect(contrastRatio(marking.colour, marking.textColour)).toBeGreaterThanOrEqual(4.5);
		}
		expect(textColourFor('#fde047')).toBe('#000000');
		expect(textColourFor('#1d4ed8')).toBe('#ffffff');
	});
});
