import { describe, expect, it } from 'vitest';
import { formObject, isPlainName, levelForm, organisationForm, renameForm } from './admin';

/** Each reads, on a banner, as a name it is not (or hides something in it). */
const LOOK_ALIKES: [string, string][] = [
	['zero-width space', 'TOP SECRET\u200b'],
	['zero-width joiner', 'TOP SEC\u200dRET'],
	['zero-width non-joiner', 'TOP\u200c SECRET'],
	['word joiner', '\u2060TOP SECRET'],
	['soft hyphen', 'TOP SE\u00adCRET'],
	['right-to-left override', '\u202eTERCES POT'],
	['left-to-right mark', 'SECRET\u200e'],
	['byte order mark', 'SEC\ufeffRET'],
	['combining grapheme joiner', 'TOP SECRET\u034f'],
	['combining acute after a space', 'TOP \u0301SECRET'],
	['a voiced mark left alone', '\u3099機密'],
	['Cyrillic Т О Р Е С', '\u0422\u041e\u0420 S\u0415\u0421RET'],
	['Greek Ο', 'TΟP SECRET'],
	['the marking separator', 'SECRET/MD'],
	['a full-width separator', 'SECRET／MD'],
	['a division slash', 'SECRET\u2215MD'],
	['a line separator', 'TOP\u2028SECRET'],
	['a private-use character', 'SECRET\ue000'],
	['zero-width space in Japanese', '秘\u200b']
];

/** Names as the institute writes them, in both languages. */
const PLAIN = [
	'TOP SECRET',
	'Space Domain Awareness',
	'Électronique (EW) – phase 2',
	'ＴＯＰ　ＳＥＣＲＥＴ',
	'機密',
	'取扱注意',
	'宇宙領域把握',
	'ミサイル防衛',
	'データ・センター',
	'ｶﾞｲﾑ',
	'か\u3099き',
	'人々',
	'米国'
];

describe('reference names printed on banners', () => {
	it('takes Latin, kanji and kana names, in any width', () => {
		for (const name of PLAIN) expect(isPlainName(name), name).toBe(true);
		expect(
			levelForm.parse({ rank: '4', nameEn: 'TOP SECRET', nameJa: '機密', colour: '#c2410c' })
		).toMatchObject({ nameEn: 'TOP SECRET', nameJa: '機密' });
	});

	it('refuses invisible and combining characters, other scripts and "/", by name', () => {
		for (const [label, name] of LOOK_ALIKES) {
			expect(isPlainName(name), label).toBe(false);
			for (const [schema, fields] of [
				[levelForm, { rank: '2', nameEn: name, nameJa: '秘', colour: '#7c3aed' }],
				[levelForm, { rank: '2', nameEn: 'CONFIDENTIAL', nameJa: name, colour: '#7c3aed' }],
				[organisationForm, { code: 'ZZ', nameEn: name, nameJa: '米国' }],
				[renameForm, { id: '1', nameEn: 'USA', nameJa: name }]
			] as const) {
				const result = schema.safeParse(fields);
				expect(
					result.error?.issues.map((i) => i.message),
					label
				).toEqual(['name_characters']);
			}
		}
		expect(isPlainName('   ')).toBe(false);
	});
});

describe('formObject', () => {
	const form = (fields: [string, string][]) => {
		const data = new FormData();
		for (const [k, v] of fields) data.append(k, v);
		return data;
	};

	it('keeps a posted __proto__, constructor or prototype as a field the strict schema refuses', () => {
		for (const key of ['__proto__', 'constructor', 'prototype']) {
			const raw = formObject(
				form([
					['code', 'ZZ'],
					['nameEn', 'Zed'],
					['nameJa', 'ゼッド'],
					[key, 'x']
				])
			)!;
			expect(Object.keys(raw), key).toContain(key);
			const result = organisationForm.safeParse(raw);
			expect(result.success, key).toBe(false);
			expect(result.error?.issues[0], key).toMatchObject({
				code: 'unrecognized_keys',
				keys: [key]
			});
		}
	});

	it('still refuses a duplicated field and keeps the listed arrays', () => {
		expect(
			formObject(
				form([
					['a', '1'],
					['a', '2']
				])
			)
		).toBeNull();
		expect({ ...formObject(form([['a', '1']]), ['roles']) }).toEqual({ a: '1', roles: [] });
	});
});
