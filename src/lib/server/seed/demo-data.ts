import type { Role } from '../db/schema';

/**
 * Demo content. The passwords and TOTP secrets below are public (they are in the README) and
 * are refused in production mode.
 */

export const DEMO_ORGANISATIONS = [
	{
		code: 'JISS',
		nameEn: 'Japan Institute for Space and Security',
		nameJa: '日本宇宙安全保障研究所',
		isHome: true
	},
	{
		code: 'USA',
		nameEn: 'U.S. Space Policy Liaison Office',
		nameJa: '米国宇宙政策連絡事務所',
		isHome: false
	},
	{
		code: 'AUS',
		nameEn: 'Australian Space Security Directorate',
		nameJa: '豪州宇宙安全保障局',
		isHome: false
	}
] as const;

export const DEFAULT_LEVELS = [
	{ rank: 0, code: 'UNRESTRICTED', nameEn: 'UNRESTRICTED', nameJa: '一般', colour: '#15803d' },
	{ rank: 1, code: 'RESTRICTED', nameEn: 'RESTRICTED', nameJa: '取扱注意', colour: '#1d4ed8' },
	{ rank: 2, code: 'CONFIDENTIAL', nameEn: 'CONFIDENTIAL', nameJa: '秘', colour: '#7c3aed' },
	{ rank: 3, code: 'SECRET', nameEn: 'SECRET', nameJa: '極秘', colour: '#b91c1c' },
	{ rank: 4, code: 'TOP SECRET', nameEn: 'TOP SECRET', nameJa: '機密', colour: '#c2410c' }
] as const;

export const DEMO_COMPARTMENTS = [
	{ code: 'SDA', nameEn: 'Space Domain Awareness', nameJa: '宇宙領域把握', sensitive: false },
	{ code: 'MD', nameEn: 'Missile Defence', nameJa: 'ミサイル防衛', sensitive: true },
	{
		code: 'PNT',
		nameEn: 'Positioning, Navigation and Timing',
		nameJa: '測位・航法・時刻',
		sensitive: false
	}
] as const;

export interface DemoAccount {
	key: string;
	email: string;
	displayName: string;
	organisation: string;
	roles: Role[];
	password: string;
	totpSecret: string;
	level: number;
	compartments: string[];
}

export const DEMO_ACCOUNTS: DemoAccount[] = [
	{
		key: 'admin',
		email: 'admin@jiss.example',
		displayName: 'Tanaka Aiko',
		organisation: 'JISS',
		roles: ['administrator'],
		password: 'demo-admin-orbit-2026',
		totpSecret: 'Y5G3F25CR6YMLXMEMXVIRSQTGKE63ELX',
		level: 0,
		compartments: []
	},
	{
		key: 'admin2',
		email: 'admin2@jiss.example',
		displayName: 'Mori Kenji',
		organisation: 'JISS',
		roles: ['administrator'],
		password: 'demo-admin2-perigee-2026',
		totpSecret: 'WJER2RZ7ROL7GQASB7LYF4PC573M3KU5',
		level: 0,
		compartments: []
	},
	{
		key: 'auditor',
		email: 'auditor@jiss.example',
		displayName: 'Sato Yuki',
		organisation: 'JISS',
		roles: ['auditor'],
		password: 'demo-auditor-ledger-2026',
		totpSecret: 'NVYNNMK4B56TZVO4H7LJXRQOQZRNRRT2',
		level: 2,
		compartments: ['SDA']
	},
	{
		key: 'fellow',
		email: 'fellow@jiss.example',
		displayName: 'Yamamoto Hiroshi',
		organisation: 'JISS',
		roles: ['staff'],
		password: 'demo-fellow-apogee-2026',
		totpSecret: 'DSIWSMRD6NOGIIGXQAQ5WAZVHCU4UTSG',
		level: 4,
		compartments: ['SDA', 'MD', 'PNT']
	},
	{
		key: 'researcher',
		email: 'researcher@jiss.example',
		displayName: 'Suzuki Mei',
		organisation: 'JISS',
		roles: ['staff'],
		password: 'demo-researcher-nadir-2026',
		totpSecret: 'FTU6HVOPKSEH4WFYMHBJ3EZBIQDODKAB',
		level: 2,
		compartments: ['SDA']
	},
	{
		key: 'analyst',
		email: 'analyst@jiss.example',
		displayName: 'Kato Taro',
		organisation: 'JISS',
		roles: ['staff'],
		password: 'demo-analyst-zenith-2026',
		totpSecret: '2SNRCLK54UKQ2OF3INBFF635HT6Y5LNC',
		level: 1,
		compartments: []
	},
	{
		key: 'liaison',
		email: 'liaison@usa.example',
		displayName: 'Jordan Miller',
		organisation: 'USA',
		roles: ['liaison'],
		password: 'demo-liaison-uplink-2026',
		totpSecret: '5YEXMGHYN6W6EXDH46FXXDCGWGL6ALGI',
		level: 3,
		compartments: ['SDA']
	},
	{
		key: 'liaison2',
		email: 'liaison@aus.example',
		displayName: 'Charlotte Hughes',
		organisation: 'AUS',
		roles: ['liaison'],
		password: 'demo-liaison2-downlink-2026',
		totpSecret: 'VO3X5GZLRXPB63PH5RU5SVU26PWNM66K',
		level: 2,
		compartments: ['PNT']
	}
];

export const DEMO_PASSWORDS: readonly string[] = DEMO_ACCOUNTS.map((a) => a.password);

const topics = [
	{
		en: 'Space domain awareness architecture',
		ja: '宇宙領域把握アーキテクチャ',
		tags: ['sda', 'architecture'],
		body: 'Japan needs to secure stable use of space. This note reviews sensor coverage, data sharing with allies and the command-and-control chain that turns observations into actionable information for decision makers.'
	},
	{
		en: 'Missile defence and space sensors',
		ja: 'ミサイル防衛と宇宙センサー',
		tags: ['missile-defence', 'sensors'],
		body: 'North Korean missile development continues. Space-based infrared sensors and a hybrid constellation could shorten warning times; the note weighs technical and operational options.'
	},
	{
		en: 'Resilience of positioning, navigation and timing',
		ja: '測位・航法・時刻の抗たん性',
		tags: ['pnt', 'resilience'],
		body: 'QZSS and GPS underpin finance, transport and defence. We assess jamming and spoofing risks and recommend redundancy measures and cooperation with the United States.'
	},
	{
		en: 'Counterspace capabilities of China and Russia',
		ja: '中国とロシアの対宇宙能力',
		tags: ['counterspace', 'threat-assessment'],
		body: 'Military modernisation has expanded counterspace capabilities: direct-ascent interceptors, co-orbital systems, lasers and cyber operations. Implications for Japan and allied deterrence.'
	},
	{
		en: 'Whole-of-government approach to space security',
		ja: '宇宙安全保障への政府一体の取り組み',
		tags: ['policy', 'governance'],
		body: 'The Basic Act on Space Policy of 2008 opened space to security uses. We propose organisational reforms, budget priorities and human resource development for a joint operations approach.'
	},
	{
		en: 'Space industry and defence industrial base',
		ja: '宇宙産業と防衛産業基盤',
		tags: ['industry', 'policy'],
		body: 'Promotion of defence and space industries is a key objective. This memo surveys launch, satellite manufacturing and ground segment suppliers and the export control environment.'
	},
	{
		en: 'Norms of responsible behaviour in outer space',
		ja: '宇宙空間における責任ある行動規範',
		tags: ['norms', 'diplomacy'],
		body: 'Transparent, safe and stable use of space requires agreed norms. We track the UN open-ended working group and propose Japanese positions on debris-generating tests.'
	},
	{
		en: 'Space situational awareness data sharing with allies',
		ja: '同盟国との宇宙状況把握データ共有',
		tags: ['sda', 'alliance'],
		body: 'Cooperation with the U.S. and other allied and friendly countries in space security. Data-sharing agreements, releasability and the conditions partners attach to shared products.'
	},
	{
		en: 'Cyber and electromagnetic threats to ground stations',
		ja: '地上局に対するサイバー・電磁波の脅威',
		tags: ['cyber', 'ground-segment'],
		body: 'Ground segments are the soft underbelly of space systems. We assess cyber and electromagnetic domain threats and recommend hardening measures and exercises.'
	},
	{
		en: 'Encryption for satellite command links',
		ja: '衛星コマンドリンクの暗号',
		tags: ['crypto', 'satcom'],
		body: '暗号 modernisation for command and telemetry links. Securely task, collect, analyse and disseminate: the note covers key management and quantum-resistant options.'
	},
	{
		en: 'Workshop summary: space and security dialogue',
		ja: 'ワークショップ概要：宇宙と安全保障の対話',
		tags: ['event', 'dialogue'],
		body: 'Summary of the institute dialogue with government, academia and industry participants on space utilisation strategies and continuous research and dissemination.'
	},
	{
		en: 'Hosted payloads and commercial constellations',
		ja: 'ホステッドペイロードと商用コンステレーション',
		tags: ['commercial', 'architecture'],
		body: 'Commercial constellations offer resilience through proliferation. We review hosted payload models and the contractual conditions needed for security use.'
	}
];

export interface DemoDocument {
	kind: 'memo' | 'file';
	title: string;
	summary: string;
	level: number;
	compartments: string[];
	releaseTo: string[];
	originator: string;
	author: string;
	status: 'draft' | 'published' | 'archived';
	tags: string[];
	body: string;
	fileName: string;
	contentType: string;
}

const compartmentPattern: string[][] = [[], ['SDA'], [], ['MD'], ['PNT'], ['SDA', 'MD']];
const releasePattern: string[][] = [['JISS'], ['JISS', 'USA'], ['JISS', 'USA', 'AUS'], ['JISS']];

/** A few dozen memos and files at every level, deterministic so tests can rely on them. */
export function demoDocuments(): DemoDocument[] {
	const documents: DemoDocument[] = [];
	let n = 0;
	for (let level = 0; level <= 4; level++) {
		for (let i = 0; i < 8; i++) {
			const topic = topics[(level * 3 + i) % topics.length]!;
			const compartments =
				level === 0 ? [] : compartmentPattern[(level + i) % compartmentPattern.length]!;
			const releaseTo = releasePattern[(level + i) % releasePattern.length]!;
			const japanese = i % 2 === 1;
			const kind: 'memo' | 'file' = i % 3 === 2 ? 'file' : 'memo';
			const title = japanese ? `${topic.ja}（${n + 1}）` : `${topic.en} (${n + 1})`;
			const summary = japanese
				? `${topic.ja}に関する研究所の分析。`
				: `Institute analysis: ${topic.en.toLowerCase()}.`;
			const body =
				kind === 'memo'
					? `# ${title}\n\n${summary}\n\n${topic.body}\n\n## Recommendations\n\n1. Strengthen cooperation with allies.\n2. Invest in enabling technologies.\n3. Review again within twelve months.\n`
					: `${title}\n\n${topic.body}\n\nPrepared for the Japan Institute for Space and Security.\n`;
			const author = i % 4 === 3 && releaseTo.includes('USA') && level <= 3 ? 'liaison' : 'fellow';
			documents.push({
				kind,
				title,
				summary,
				level,
				compartments: author === 'liaison' ? compartments.filter((c) => c === 'SDA') : compartments,
				releaseTo,
				originator: author === 'liaison' ? 'USA' : 'JISS',
				author,
				status: i === 7 ? 'archived' : i === 6 ? 'draft' : 'published',
				tags: [...topic.tags],
				body,
				fileName: kind === 'memo' ? 'memo.md' : `${topic.tags[0]}-${n + 1}.txt`,
				contentType: kind === 'memo' ? 'text/markdown; charset=utf-8' : 'text/plain; charset=utf-8'
			});
			n++;
		}
	}
	return documents;
}
