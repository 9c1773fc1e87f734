import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

/**
 * The one place that reads the environment. Everything else receives a typed `Config`.
 * Secrets may be given directly or as `<NAME>_FILE` (Docker secrets), never both.
 */

export const SECRET_VARIABLES = [
	'DATABASE_URL',
	'DATABASE_OWNER_URL',
	'S3_ACCESS_KEY_ID',
	'S3_SECRET_ACCESS_KEY',
	'SMTP_URL',
	'MFA_ENCRYPTION_KEYS',
	'AUDIT_SIGNING_KEY'
] as const;

export class ConfigError extends Error {
	readonly problems: { variable: string; message: string }[];
	constructor(problems: { variable: string; message: string }[]) {
		super(
			'Invalid configuration:\n' + problems.map((p) => `  - ${p.variable}: ${p.message}`).join('\n')
		);
		this.name = 'ConfigError';
		this.problems = problems;
	}
}

const booleanString = z
	.enum(['true', 'false', '1', '0', 'yes', 'no'], {
		error: 'must be true or false'
	})
	.transform((value) => value === 'true' || value === '1' || value === 'yes');

const positiveInt = (min: number, max: number) =>
	z.coerce
		.number({ error: 'must be a whole number' })
		.int({ error: 'must be a whole number' })
		.min(min, { error: `must be at least ${min}` })
		.max(max, { error: `must be at most ${max}` });

/**
 * A URL that parses, checked here so that a bad one is reported by its variable's name only:
 * the URL parser's own error (thrown later, by the driver) carries the whole URL, password
 * included, into whatever logs it.
 */
const parses = (value: string) => {
	try {
		new URL(value);
		return true;
	} catch {
		return false;
	}
};
const URL_SYNTAX =
	'is not a valid URL (a user name or password holding / @ : # ? or % must be percent-encoded)';

const postgresUrl = z
	.string()
	.refine((value) => /^postgres(ql)?:\/\/.+/.test(value), {
		error: 'must be a postgres:// or postgresql:// URL'
	})
	.refine(parses, { error: URL_SYNTAX });

const timeZone = z.string().refine(
	(value) => {
		try {
			new Intl.DateTimeFormat('en', { timeZone: value });
			return true;
		} catch {
			return false;
		}
	},
	{ error: 'must be an IANA time zone such as Asia/Tokyo' }
);

/** `id:base64key` pairs, comma separated; the first is the one used for new data. */
const keyList = (bytes: number) =>
	z.string().transform((value, ctx) => {
		const keys: { id: string; key: Buffer }[] = [];
		for (const part of value.split(',').map((p) => p.trim())) {
			const match = /^([A-Za-z0-9_-]{1,32}):([A-Za-z0-9+/=_-]+)$/.exec(part);
			const key = match ? Buffer.from(match[2]!, 'base64') : null;
			if (!match || !key || key.length !== bytes) {
				ctx.addIssue({
					code: 'custom',
					message: `must be a comma-separated list of id:base64 keys of ${bytes} bytes each`
				});
				return z.NEVER;
			}
			// The example files' key (docker/secrets/*.example): known to everyone, so no secret.
			if (key.every((byte) => byte === 0)) {
				ctx.addIssue({
					code: 'custom',
					message: `key ${match[1]} is all zero bytes, as in the example files: generate a real one (docker/secrets/generate.sh)`
				});
				return z.NEVER;
			}
			if (keys.some((k) => k.id === match[1])) {
				ctx.addIssue({ code: 'custom', message: `key id ${match[1]} appears twice` });
				return z.NEVER;
			}
			keys.push({ id: match[1]!, key });
		}
		return keys;
	});

const environmentSchema = z.object({
	INTRANET_MODE: z.enum(['demo', 'production'], { error: 'must be demo or production' }).optional(),
	DATABASE_URL: postgresUrl.optional(),
	DATABASE_OWNER_URL: postgresUrl.optional(),
	DATABASE_POOL_SIZE: positiveInt(1, 200).default(10),
	DATABASE_MIGRATE_ON_START: booleanString.default(true),
	DATA_DIR: z.string().min(1).default('./data'),
	S3_ENDPOINT: z.url({ error: 'must be a URL such as http://seaweedfs:8333' }).optional(),
	S3_REGION: z.string().min(1).default('us-east-1'),
	S3_BUCKET: z
		.string()
		.regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, { error: 'must be a valid S3 bucket name' })
		.optional(),
	S3_ACCESS_KEY_ID: z.string().min(1).optional(),
	S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
	S3_FORCE_PATH_STYLE: booleanString.default(false),
	S3_CONNECT_TIMEOUT_MS: positiveInt(100, 120_000).default(5000),
	S3_REQUEST_TIMEOUT_MS: positiveInt(1000, 3_600_000).default(120_000),
	ORIGIN: z
		.url({ error: 'must be the public URL, such as https://intranet.example.org' })
		.optional(),
	SMTP_URL: z
		.string()
		.refine((value) => /^smtps?:\/\/.+/.test(value), {
			error: 'must be an smtp:// or smtps:// URL'
		})
		.refine(parses, { error: URL_SYNTAX })
		.optional(),
	MAIL_FROM: z.string().min(3).default('JISS Intranet <intranet@jiss.example>'),
	DISPLAY_TIME_ZONE: timeZone.default('Asia/Tokyo'),
	// The longest a grant may run: five years, the interval at which a clearance is re-vetted
	// (Japan's suitability assessment for specified secrets is valid for five years). Without a
	// limit a required end date means nothing (9999-12-31 is a date). Ten years at most.
	GRANT_MAX_DAYS: positiveInt(1, 3653).default(1826),
	MFA_ENCRYPTION_KEYS: keyList(32).optional(),
	AUDIT_SIGNING_KEY: keyList(32).optional(),
	AUDIT_VERIFY_KEYS: keyList(32).optional(),
	AUDIT_CHECKPOINT_EVERY: positiveInt(1, 10_000_000).default(1000),
	AUDIT_CHECKPOINT_MINUTES: positiveInt(1, 24 * 60).default(15),
	SESSION_IDLE_MINUTES: positiveInt(1, 24 * 60).default(30),
	SESSION_ABSOLUTE_HOURS: positiveInt(1, 24 * 30).default(12),
	PASSWORD_MIN_LENGTH: positiveInt(8, 128).default(12),
	MFA_REQUIRED_FOR_ALL: booleanString.optional(),
	UPLOAD_MAX_BYTES: positiveInt(1, 1024 ** 4).default(1024 ** 3),
	UPLOAD_IDLE_TIMEOUT_MS: positiveInt(100, 3_600_000).default(60_000),
	WATERMARK_MAX_BYTES: positiveInt(1, 1024 ** 4).default(200 * 1024 ** 2),
	WATERMARK_CONCURRENCY: positiveInt(1, 64).default(2),
	WATERMARK_WAIT_MS: positiveInt(0, 600_000).default(15_000),
	WATERMARK_READ_TIMEOUT_MS: positiveInt(100, 3_600_000).default(30_000),
	PDF_TEXT_CONCURRENCY: positiveInt(1, 64).default(2),
	REQUEST_BODY_MAX_BYTES: positiveInt(1024, 100 * 1024 ** 2).default(1024 * 1024),
	LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info')
});

/** Every variable the schema reads (the README's configuration table lists each one). */
export const CONFIG_VARIABLES = Object.keys(environmentSchema.shape);

export type Environment = Record<string, string | undefined>;

function readSecrets(env: Environment, problems: { variable: string; message: string }[]) {
	const resolved: Environment = { ...env };
	for (const name of SECRET_VARIABLES) {
		const file = env[`${name}_FILE`];
		if (file === undefined || file === '') continue;
		if (env[name] !== undefined && env[name] !== '') {
			problems.push({ variable: `${name}_FILE`, message: `set together with ${name}; use one` });
			continue;
		}
		try {
			resolved[name] = readFileSync(file, 'utf8').trim();
		} catch {
			problems.push({ variable: `${name}_FILE`, message: `cannot read the file ${file}` });
		}
	}
	// An empty variable means "not set", as in most Docker and shell setups.
	for (const [key, value] of Object.entries(resolved)) if (value === '') delete resolved[key];
	return resolved;
}

type Parsed = z.infer<typeof environmentSchema>;

type DatabaseVariables = Pick<
	Parsed,
	| 'DATABASE_URL'
	| 'DATABASE_OWNER_URL'
	| 'DATABASE_POOL_SIZE'
	| 'DATABASE_MIGRATE_ON_START'
	| 'DATA_DIR'
>;

function databaseOf(e: DatabaseVariables) {
	return e.DATABASE_URL
		? {
				kind: 'postgres' as const,
				url: e.DATABASE_URL,
				ownerUrl: e.DATABASE_OWNER_URL ?? e.DATABASE_URL,
				poolSize: e.DATABASE_POOL_SIZE,
				migrateOnStart: e.DATABASE_MIGRATE_ON_START
			}
		: {
				kind: 'pglite' as const,
				dir: path.join(path.resolve(e.DATA_DIR), 'pglite'),
				// One process owns an embedded database: nobody else could migrate it.
				migrateOnStart: true
			};
}

const databaseSchema = environmentSchema.pick({
	DATABASE_URL: true,
	DATABASE_OWNER_URL: true,
	DATABASE_POOL_SIZE: true,
	DATABASE_MIGRATE_ON_START: true,
	DATA_DIR: true
});

/**
 * Only the database part, for `db:migrate` run as a separate job (docker compose's `migrate`):
 * it needs the owner's URL and nothing else, so it is not given the app's other secrets.
 */
export function loadDatabaseConfig(env: Environment = process.env) {
	const problems: { variable: string; message: string }[] = [];
	const resolved = readSecrets(env, problems);
	const parsed = databaseSchema.safeParse(resolved);
	if (!parsed.success) {
		for (const issue of parsed.error.issues) {
			problems.push({ variable: String(issue.path[0] ?? '?'), message: issue.message });
		}
	}
	if (problems.length > 0 || !parsed.success) throw new ConfigError(problems);
	return databaseOf(parsed.data);
}

export function loadConfig(env: Environment = process.env) {
	const problems: { variable: string; message: string }[] = [];
	const resolved = readSecrets(env, problems);
	const parsed = environmentSchema.safeParse(resolved);
	if (!parsed.success) {
		for (const issue of parsed.error.issues) {
			problems.push({ variable: String(issue.path[0] ?? '?'), message: issue.message });
		}
		throw new ConfigError(problems);
	}
	const e = parsed.data;
	const embedded = e.DATABASE_URL === undefined && e.S3_BUCKET === undefined;
	const mode = e.INTRANET_MODE ?? (embedded ? 'demo' : undefined);
	if (mode === undefined) {
		problems.push({
			variable: 'INTRANET_MODE',
			message: 'required when DATABASE_URL or S3_BUCKET is set (demo or production)'
		});
	}

	const s3Given = [e.S3_BUCKET, e.S3_ACCESS_KEY_ID, e.S3_SECRET_ACCESS_KEY, e.S3_ENDPOINT];
	if (s3Given.some((v) => v !== undefined)) {
		if (e.S3_BUCKET === undefined)
			problems.push({ variable: 'S3_BUCKET', message: 'required when any S3_* variable is set' });
		if ((e.S3_ACCESS_KEY_ID === undefined) !== (e.S3_SECRET_ACCESS_KEY === undefined)) {
			const missing =
				e.S3_ACCESS_KEY_ID === undefined ? 'S3_ACCESS_KEY_ID' : 'S3_SECRET_ACCESS_KEY';
			problems.push({ variable: missing, message: 'S3 credentials must be given as a pair' });
		}
		if (e.S3_ENDPOINT !== undefined && e.S3_ACCESS_KEY_ID === undefined) {
			problems.push({
				variable: 'S3_ACCESS_KEY_ID',
				message: 'required with S3_ENDPOINT (a non-AWS S3 server needs explicit credentials)'
			});
		}
	}
	if (e.DATABASE_OWNER_URL !== undefined && e.DATABASE_URL === undefined) {
		problems.push({ variable: 'DATABASE_URL', message: 'required when DATABASE_OWNER_URL is set' });
	}

	if (mode === 'production') {
		const required: [keyof typeof e, string][] = [
			['DATABASE_URL', 'production runs on a PostgreSQL server'],
			['S3_BUCKET', 'production keeps documents in an S3-compatible object store'],
			['ORIGIN', 'production must know its public URL (CSRF checks and links in mail)'],
			['SMTP_URL', 'production sends enrolment links by mail'],
			['MFA_ENCRYPTION_KEYS', 'production encrypts second-factor secrets at rest'],
			['AUDIT_SIGNING_KEY', 'production signs audit checkpoints']
		];
		for (const [name, why] of required) {
			if (e[name] === undefined) problems.push({ variable: name, message: `required: ${why}` });
		}
		if (e.ORIGIN !== undefined && !e.ORIGIN.startsWith('https://')) {
			problems.push({ variable: 'ORIGIN', message: 'must be an https:// URL in production' });
		}
	}
	if (problems.length > 0) throw new ConfigError(problems);

	const dataDir = path.resolve(e.DATA_DIR);
	return {
		mode: mode as 'demo' | 'production',
		dataDir,
		database: databaseOf(e),
		storage: e.S3_BUCKET
			? {
					kind: 's3' as const,
					bucket: e.S3_BUCKET,
					endpoint: e.S3_ENDPOINT,
					region: e.S3_REGION,
					forcePathStyle: e.S3_FORCE_PATH_STYLE,
					connectTimeoutMs: e.S3_CONNECT_TIMEOUT_MS,
					requestTimeoutMs: e.S3_REQUEST_TIMEOUT_MS,
					credentials:
						e.S3_ACCESS_KEY_ID && e.S3_SECRET_ACCESS_KEY
							? { accessKeyId: e.S3_ACCESS_KEY_ID, secretAccessKey: e.S3_SECRET_ACCESS_KEY }
							: undefined
				}
			: { kind: 'local' as const, dir: path.join(dataDir, 'objects') },
		origin: e.ORIGIN,
		mail: e.SMTP_URL
			? { kind: 'smtp' as const, url: e.SMTP_URL, from: e.MAIL_FROM }
			: { kind: 'outbox' as const, dir: path.join(dataDir, 'outbox'), from: e.MAIL_FROM },
		displayTimeZone: e.DISPLAY_TIME_ZONE,
		/** Days from today (in `displayTimeZone`) to a grant's latest end date. */
		grantMaxDays: e.GRANT_MAX_DAYS,
		mfaEncryptionKeys: e.MFA_ENCRYPTION_KEYS,
		auditSigningKeys: e.AUDIT_SIGNING_KEY,
		// Public keys only: when set, verification uses these and nothing else.
		auditVerifyKeys: e.AUDIT_VERIFY_KEYS,
		audit: {
			checkpointEvery: e.AUDIT_CHECKPOINT_EVERY,
			checkpointMinutes: e.AUDIT_CHECKPOINT_MINUTES
		},
		session: { idleMinutes: e.SESSION_IDLE_MINUTES, absoluteHours: e.SESSION_ABSOLUTE_HOURS },
		passwordMinLength: e.PASSWORD_MIN_LENGTH,
		mfaRequiredForAll: e.MFA_REQUIRED_FOR_ALL ?? mode === 'demo',
		uploadMaxBytes: e.UPLOAD_MAX_BYTES,
		uploadIdleTimeoutMs: e.UPLOAD_IDLE_TIMEOUT_MS,
		watermarkMaxBytes: e.WATERMARK_MAX_BYTES,
		/** PDFs held whole in memory at once: at most count × size limit bytes (pdf-work.ts). */
		pdfWork: {
			watermarkConcurrency: e.WATERMARK_CONCURRENCY,
			watermarkWaitMs: e.WATERMARK_WAIT_MS,
			watermarkReadTimeoutMs: e.WATERMARK_READ_TIMEOUT_MS,
			textConcurrency: e.PDF_TEXT_CONCURRENCY
		},
		requestBodyMaxBytes: e.REQUEST_BODY_MAX_BYTES,
		logLevel: e.LOG_LEVEL
	};
}

export type Config = ReturnType<typeof loadConfig>;

let current: Config | undefined;

/** The process-wide configuration, read once. Throws `ConfigError` on bad input. */
export function getConfig(): Config {
	current ??= loadConfig();
	return current;
}

/** Installs an already-loaded configuration (startup after demo keys, CLIs and tests). */
export function setConfig(config: Config): void {
	current = config;
}
