import type { Role } from '../db/schema';
import { HOME_ORGANISATION } from './reference-data';

/**
 * Demo content. The passwords and TOTP secrets below are public (they are in the README) and
 * are refused in production mode.
 */

export { DEFAULT_LEVELS } from './reference-data';

export const DEMO_ORGANISATIONS = [
	HOME_ORGANISATION,
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

/**
 * Demo documents. Their text paraphrases the institute's own description
 * (shared/seed/jiss-about.txt): its background, mission, objectives and vision, turned into
 * the memos and partner files such an institute would hold, at every level, in every
 * compartment mix and releasability, in English and Japanese.
 */
interface DemoSpec {
	kind: 'memo' | 'file';
	title: string;
	summary: string;
	level: number;
	compartments: string[];
	releaseTo: string[];
	author: string;
	status: 'draft' | 'published' | 'archived';
	tags: string[];
	body: string;
}

const RECOMMEND_EN =
	'## Recommendations\n\n1. Strengthen cooperation with the U.S. and other allied and friendly countries.\n2. Invest in enabling technologies and command-and-control systems.\n3. Review again within twelve months.\n';
const RECOMMEND_JA =
	'## 提言\n\n1. 米国をはじめとする同盟国・同志国との協力を強化する。\n2. 基盤技術と指揮統制システムに投資する。\n3. 12か月以内に再検討する。\n';

const SPECS: DemoSpec[] = [
	{
		kind: 'memo',
		title: 'About the institute: background of the establishment',
		summary: 'Why JISS was founded in July 2018 and what it sets out to do.',
		level: 0,
		compartments: [],
		releaseTo: ['JISS', 'USA', 'AUS'],
		author: 'fellow',
		status: 'published',
		tags: ['institute', 'policy'],
		body: '# Background of the establishment\n\nThe security environment around Japan is changing: nuclear and missile development by North Korea, the expansion of space use that accompanies China’s military modernisation, the recovery of Russia’s space capability, and the decline of the United States’ superiority in space as an ally.\n\nJapan therefore needs to **secure stable use of space**, strengthen its space security capabilities and promote space security cooperation with allies, especially the United States.\n\nThe institute was established on 11 July 2018 by volunteers from government, academia and industry, to ensure transparent, safe and stable use of space.\n'
	},
	{
		kind: 'memo',
		title: '研究所について：設立の背景',
		summary: '2018年7月の設立の経緯と、研究所が目指すもの。',
		level: 0,
		compartments: [],
		releaseTo: ['JISS', 'USA', 'AUS'],
		author: 'fellow',
		status: 'published',
		tags: ['institute', 'policy'],
		body: '# 設立の背景\n\n北朝鮮による核・ミサイル開発、中国の軍事力近代化に伴う宇宙利用の拡大、ロシアの宇宙能力の回復、そして同盟国である米国の宇宙における優位性の低下など、我が国を取り巻く安全保障環境は変化している。\n\n我が国は**宇宙の安定的な利用を確保**し、宇宙安全保障能力を強化し、米国をはじめとする同盟国との宇宙安全保障協力を推進する必要がある。\n\n本研究所は、政府・学界・産業界の有志により2018年7月11日に設立された。\n'
	},
	{
		kind: 'memo',
		title: 'Mission statement and key objectives',
		summary: 'The three key objectives: capabilities, global policy, peaceful use.',
		level: 0,
		compartments: [],
		releaseTo: ['JISS'],
		author: 'researcher',
		status: 'published',
		tags: ['institute', 'strategy'],
		body: '# Mission statement\n\nAs a space-focused think tank, we propose domestic and global policies to strengthen Japan’s national security space capabilities and contribute to the peaceful use of space.\n\n- **Objective A**: enhancing Japan’s space security capabilities.\n- **Objective B**: proposing global policies as a space-focused think tank.\n- **Objective C**: contributing to the peaceful use of space.\n'
	},
	{
		kind: 'memo',
		title: 'Basic Act on Space Policy (2008): what changed for security use',
		summary: 'How the 2008 Act lessened restrictions on security uses of space.',
		level: 1,
		compartments: [],
		releaseTo: ['JISS', 'USA'],
		author: 'analyst',
		status: 'published',
		tags: ['policy', 'law'],
		body:
			'# The Basic Act on Space Policy\n\nJapan’s use of space for national security was politically restricted in the past. The enactment of the Basic Act on Space Policy in 2008 lessened these restrictions and opened discussions on space use for security purposes.\n\nStill, Japan lacks sufficient technical and policy knowledge on space security, and lags behind in national organisation, human resources, infrastructure and budget.\n\n' +
			RECOMMEND_EN
	},
	{
		kind: 'memo',
		title: '宇宙基本法（2008年）と安全保障利用',
		summary: '宇宙基本法により安全保障目的の宇宙利用の議論が始まった経緯。',
		level: 1,
		compartments: [],
		releaseTo: ['JISS'],
		author: 'analyst',
		status: 'draft',
		tags: ['policy', 'law'],
		body:
			'# 宇宙基本法\n\nかつて我が国の安全保障目的の宇宙利用は政治的に制約されていた。2008年の宇宙基本法の制定によりこの制約が緩和され、安全保障目的の宇宙利用の議論が始まった。\n\nしかし、宇宙安全保障に関する技術的・政策的知見はなお不足している。\n\n' +
			RECOMMEND_JA
	},
	{
		kind: 'memo',
		title: 'Space domain awareness architecture',
		summary:
			'Sensors, data sharing and the command-and-control chain that turns observations into decisions.',
		level: 2,
		compartments: ['SDA'],
		releaseTo: ['JISS', 'USA'],
		author: 'fellow',
		status: 'published',
		tags: ['sda', 'architecture'],
		body:
			'# Space domain awareness architecture\n\nA critical element of the comprehensive architecture is the development of enabling technologies and command-and-control systems that can securely **task, collect, analyse and disseminate** actionable information to decision makers in an operationally relevant time.\n\n| layer | today | needed |\n| --- | --- | --- |\n| sensors | ground radar | space-based optical |\n| sharing | bilateral | allied network |\n\n' +
			RECOMMEND_EN
	},
	{
		kind: 'memo',
		title: '宇宙領域把握の体制',
		summary: 'センサー、データ共有、指揮統制の一体的な整備。',
		level: 2,
		compartments: ['SDA'],
		releaseTo: ['JISS'],
		author: 'researcher',
		status: 'published',
		tags: ['sda', 'architecture'],
		body:
			'# 宇宙領域把握\n\n宇宙状況把握のセンサー網、同盟国とのデータ共有、そして観測結果を意思決定者に届ける指揮統制の仕組みを一体として整備する必要がある。\n\n' +
			RECOMMEND_JA
	},
	{
		kind: 'memo',
		title: 'Missile defence and space-based sensors',
		summary: 'Space-based infrared sensors and a hybrid constellation to shorten warning times.',
		level: 3,
		compartments: ['MD'],
		releaseTo: ['JISS'],
		author: 'fellow',
		status: 'published',
		tags: ['missile-defence', 'sensors'],
		body:
			'# Missile defence\n\nComprehensive space programmes support missile defence and missile technology development. Space-based infrared sensors in a hybrid constellation could shorten warning times against North Korean launches.\n\n' +
			RECOMMEND_EN
	},
	{
		kind: 'memo',
		title: 'ミサイル防衛と宇宙センサー（極秘）',
		summary: '赤外線センサー衛星による早期警戒の強化。',
		level: 3,
		compartments: ['SDA', 'MD'],
		releaseTo: ['JISS', 'USA'],
		author: 'fellow',
		status: 'published',
		tags: ['missile-defence', 'sda'],
		body:
			'# ミサイル防衛\n\n宇宙配備型赤外線センサーとハイブリッド・コンステレーションにより、警戒時間を短縮できる可能性がある。暗号化された衛星通信による共有が前提となる。\n\n' +
			RECOMMEND_JA
	},
	{
		kind: 'memo',
		title: 'Resilience of positioning, navigation and timing',
		summary: 'QZSS and GPS dependence, jamming and spoofing, and redundancy.',
		level: 2,
		compartments: ['PNT'],
		releaseTo: ['JISS', 'AUS'],
		author: 'fellow',
		status: 'published',
		tags: ['pnt', 'resilience'],
		body:
			'# PNT resilience\n\nQZSS and GPS underpin finance, transport and defence. We assess jamming and spoofing risks and recommend redundancy and cooperation with partners.\n\n' +
			RECOMMEND_EN
	},
	{
		kind: 'memo',
		title: 'Counterspace capabilities of China and Russia',
		summary: 'Direct-ascent interceptors, co-orbital systems, lasers and cyber operations.',
		level: 4,
		compartments: ['SDA'],
		releaseTo: ['JISS'],
		author: 'fellow',
		status: 'published',
		tags: ['counterspace', 'threat-assessment'],
		body:
			'# Counterspace\n\nMilitary modernisation has expanded counterspace capabilities across the maritime, ground, air, space, cyber and electromagnetic domains. Implications for Japan and allied deterrence follow.\n\n' +
			RECOMMEND_EN
	},
	{
		kind: 'memo',
		title: '対宇宙能力の評価（機密）',
		summary: '直接上昇型ASAT、共軌道型システム、レーザー、サイバー。',
		level: 4,
		compartments: ['SDA', 'MD', 'PNT'],
		releaseTo: ['JISS'],
		author: 'fellow',
		status: 'draft',
		tags: ['counterspace', 'threat-assessment'],
		body:
			'# 対宇宙能力\n\n軍事力の近代化により、対宇宙能力は海・陸・空・宇宙・サイバー・電磁波の各領域で拡大している。\n\n' +
			RECOMMEND_JA
	},
	{
		kind: 'memo',
		title: 'Whole-of-government and joint operations approach',
		summary: 'Organisational reform, budgets and people for space security.',
		level: 1,
		compartments: [],
		releaseTo: ['JISS', 'USA', 'AUS'],
		author: 'researcher',
		status: 'published',
		tags: ['policy', 'governance'],
		body:
			'# Whole of government\n\nUtilise a “whole of government” and “joint operations” approach to space security activities, with comprehensive space programmes and the human resources to run them.\n\n' +
			RECOMMEND_EN
	},
	{
		kind: 'memo',
		title: 'Defence and space industrial base (SDG 9)',
		summary: 'Robust infrastructure, inclusive industrialisation and innovation.',
		level: 0,
		compartments: [],
		releaseTo: ['JISS', 'USA', 'AUS'],
		author: 'analyst',
		status: 'published',
		tags: ['industry', 'policy'],
		body: '# Industrial base\n\nWe advocate building a robust infrastructure, promoting inclusive and sustainable industrialisation, and encouraging innovation in the defence and space industry in accordance with SDG Goal 9.\n'
	},
	{
		kind: 'memo',
		title: '宇宙の平和利用：防災・農業・漁業・気候変動',
		summary: '平和利用に向けた重点分野。',
		level: 0,
		compartments: [],
		releaseTo: ['JISS', 'USA', 'AUS'],
		author: 'researcher',
		status: 'published',
		tags: ['peaceful-use', 'policy'],
		body: '# 宇宙の平和利用\n\n防災・復旧、農業、漁業、運輸、交通、通信・電子、気候変動の分野で、宇宙の平和利用の手段を開発する。\n'
	},
	{
		kind: 'memo',
		title: 'Norms of responsible behaviour in outer space',
		summary: 'Positions on debris-generating tests and transparency measures.',
		level: 1,
		compartments: [],
		releaseTo: ['JISS', 'USA'],
		author: 'fellow',
		status: 'archived',
		tags: ['norms', 'diplomacy'],
		body: '# Norms\n\nTransparent, safe and stable use of space requires agreed norms. This 2024 note is kept for reference; see the newer position paper.\n'
	},
	{
		kind: 'memo',
		title: 'Encryption for satellite command links',
		summary: '暗号 modernisation for command and telemetry links.',
		level: 3,
		compartments: ['SDA'],
		releaseTo: ['JISS', 'USA'],
		author: 'fellow',
		status: 'published',
		tags: ['crypto', 'satcom'],
		body:
			'# Command-link encryption\n\n暗号 modernisation for command and telemetry links: key management and quantum-resistant options, so that tasking stays secure end to end.\n\n' +
			RECOMMEND_EN
	},
	{
		kind: 'memo',
		title: 'Vision statement: matching advanced countries',
		summary: 'High-level strategic research, trust of stakeholders, a model institute.',
		level: 0,
		compartments: [],
		releaseTo: ['JISS'],
		author: 'fellow',
		status: 'published',
		tags: ['institute', 'strategy'],
		body: '# Vision\n\nMake Japanese national security space utilisation equivalent to that of advanced countries, through high-level, strategic approaches not bound by existing frameworks, and serve as a model for research institutions that meet international security clearances.\n'
	},
	{
		kind: 'memo',
		title: 'U.S. liaison note: SDA data-sharing conditions',
		summary: 'Conditions the U.S. attaches to shared space domain awareness products.',
		level: 3,
		compartments: ['SDA'],
		releaseTo: ['JISS', 'USA'],
		author: 'liaison',
		status: 'published',
		tags: ['sda', 'alliance'],
		body: '# Data-sharing conditions\n\nShared products remain releasable to JISS and USA only. Re-release to third parties requires written consent of the originator.\n'
	},
	{
		kind: 'memo',
		title: 'U.S. liaison note: exchange of views, spring dialogue',
		summary: 'Summary of the exchange of views with foreign governments and companies.',
		level: 1,
		compartments: [],
		releaseTo: ['JISS', 'USA'],
		author: 'liaison',
		status: 'published',
		tags: ['dialogue', 'alliance'],
		body: '# Spring dialogue\n\nOpportunities for exchange of views and opinions with foreign governments and companies; international projects related to space security from a global perspective.\n'
	},
	{
		kind: 'memo',
		title: 'U.S. liaison draft: hosted payload options',
		summary: 'Draft, not yet shared.',
		level: 2,
		compartments: [],
		releaseTo: ['JISS', 'USA'],
		author: 'liaison',
		status: 'draft',
		tags: ['commercial', 'architecture'],
		body: '# Hosted payloads\n\nDraft options for hosted payloads on commercial constellations.\n'
	},
	{
		kind: 'memo',
		title: 'Australian liaison note: PNT cooperation',
		summary: 'Regional PNT resilience and ground stations.',
		level: 2,
		compartments: ['PNT'],
		releaseTo: ['JISS', 'AUS'],
		author: 'liaison2',
		status: 'published',
		tags: ['pnt', 'alliance'],
		body: '# PNT cooperation\n\nGround station hosting and augmentation services in the region, and the conditions attached to them.\n'
	},
	{
		kind: 'file',
		title: 'Institute overview (public handout)',
		summary: 'Plain-text handout of the institute description.',
		level: 0,
		compartments: [],
		releaseTo: ['JISS', 'USA', 'AUS'],
		author: 'fellow',
		status: 'published',
		tags: ['institute'],
		body: 'Japan Institute for Space and Security (JISS)\nEstablished 11 July 2018.\nKioi-cho, Chiyoda-ku, Tokyo.\n\nA space-focused think tank proposing domestic and global policies to strengthen Japan’s national security space capabilities and contribute to the peaceful use of space.\n'
	},
	{
		kind: 'file',
		title: 'Workshop summary: space and security dialogue',
		summary: 'Notes from the government, academia and industry workshop.',
		level: 1,
		compartments: [],
		releaseTo: ['JISS'],
		author: 'researcher',
		status: 'published',
		tags: ['event', 'dialogue'],
		body: 'Workshop summary\n\nParticipants from government, academia and industry discussed space utilisation strategies and continuous research and dissemination.\n'
	},
	{
		kind: 'file',
		title: 'Ground segment threat assessment (extract)',
		summary: 'Cyber and electromagnetic threats to ground stations.',
		level: 3,
		compartments: ['SDA'],
		releaseTo: ['JISS', 'USA'],
		author: 'fellow',
		status: 'published',
		tags: ['cyber', 'ground-segment'],
		body: 'Ground segments are the soft underbelly of space systems. Cyber and electromagnetic domain threats; hardening measures and exercises recommended.\n'
	},
	{
		kind: 'file',
		title: '衛星データ共有協定の比較（抜粋）',
		summary: '同盟国とのデータ共有協定と開示条件の比較。',
		level: 2,
		compartments: ['SDA'],
		releaseTo: ['JISS'],
		author: 'researcher',
		status: 'published',
		tags: ['sda', 'alliance'],
		body: '同盟国・同志国との宇宙状況把握データ共有協定を比較し、開示先の条件を整理した。\n'
	},
	{
		kind: 'file',
		title: 'Missile warning timeline model (extract)',
		summary: 'Warning-time model inputs for a hybrid constellation.',
		level: 4,
		compartments: ['MD'],
		releaseTo: ['JISS'],
		author: 'fellow',
		status: 'published',
		tags: ['missile-defence', 'modelling'],
		body: 'Model inputs and assumptions for warning timelines. Not for release.\n'
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

const ORIGINATOR_OF_AUTHOR: Record<string, string> = { liaison: 'USA', liaison2: 'AUS' };

/** The demo documents, deterministic so tests can rely on them. */
export function demoDocuments(): DemoDocument[] {
	return SPECS.map((spec, i) => ({
		...spec,
		originator: ORIGINATOR_OF_AUTHOR[spec.author] ?? 'JISS',
		fileName: spec.kind === 'memo' ? 'memo.md' : `${spec.tags[0] ?? 'document'}-${i + 1}.txt`,
		contentType: spec.kind === 'memo' ? 'text/markdown; charset=utf-8' : 'text/plain; charset=utf-8'
	}));
}
