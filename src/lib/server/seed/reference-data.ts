/**
 * The reference data every database starts with: the default level ladder of PRODUCT.md and
 * the institute itself as the home organisation. The demo seeds them with the rest of its data;
 * a production database gets them from the operator's bootstrap command (admin/bootstrap.ts).
 * Administrators change both afterwards in /admin/reference.
 */

export const HOME_ORGANISATION = {
	code: 'JISS',
	nameEn: 'Japan Institute for Space and Security',
	nameJa: '日本宇宙安全保障研究所',
	isHome: true
} as const;

export const DEFAULT_LEVELS = [
	{ rank: 0, code: 'UNRESTRICTED', nameEn: 'UNRESTRICTED', nameJa: '一般', colour: '#15803d' },
	{ rank: 1, code: 'RESTRICTED', nameEn: 'RESTRICTED', nameJa: '取扱注意', colour: '#1d4ed8' },
	{ rank: 2, code: 'CONFIDENTIAL', nameEn: 'CONFIDENTIAL', nameJa: '秘', colour: '#7c3aed' },
	{ rank: 3, code: 'SECRET', nameEn: 'SECRET', nameJa: '極秘', colour: '#b91c1c' },
	{ rank: 4, code: 'TOP SECRET', nameEn: 'TOP SECRET', nameJa: '機密', colour: '#c2410c' }
] as const;
