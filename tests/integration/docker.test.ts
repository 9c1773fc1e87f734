import { execFileSync, spawnSync } from 'node:child_process';
import {
	accessSync,
	constants,
	existsSync,
	mkdtempSync,
	readFileSync,
	rmSync,
	statSync
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
	ConfigError,
	loadConfig,
	loadDatabaseConfig,
	SECRET_VARIABLES,
	type Environment
} from '../../src/lib/server/config';

/*
 * There is no Docker engine where the tests run, so the production shape is checked as text:
 * the compose file's structure, the Dockerfile's stages, and that the configuration compose
 * gives the app is one the app accepts (with secrets made by docker/secrets/generate.sh).
 */

interface Service {
	image?: string;
	build?: { context: string; dockerfile: string };
	command?: string | string[];
	entrypoint?: string | string[];
	restart?: string;
	environment?: Record<string, string>;
	secrets?: string[];
	volumes?: string[];
	ports?: string[];
	depends_on?: Record<string, { condition: string }>;
	healthcheck?: {
		test: string[];
		disable?: boolean;
		interval?: string;
		timeout?: string;
		retries?: number;
	};
}
interface Compose {
	services: Record<string, Service>;
	volumes: Record<string, unknown>;
	secrets: Record<string, { file: string }>;
}

const compose = parse(readFileSync('docker-compose.yml', 'utf8')) as Compose;
const dockerfile = readFileSync('Dockerfile', 'utf8');
const services = compose.services;

/** Compose's `${NAME:-default}` with nothing set in the environment. */
function interpolate(value: string): string {
	return value
		.replace(/\$\{([A-Z0-9_]+):-([^}]*)\}/g, (_, _name, fallback: string) => fallback)
		.replace(/\$\$/g, '$');
}

const temp: string[] = [];
afterAll(() => {
	for (const dir of temp) rmSync(dir, { recursive: true, force: true });
});

describe('docker-compose.yml', () => {
	it('names PostgreSQL 17, SeaweedFS with its S3 API and bucket, Mailpit, the app and Caddy', () => {
		expect(Object.keys(services).sort()).toEqual(
			['app', 'caddy', 'mailpit', 'migrate', 'postgres', 'seaweedfs', 'seaweedfs-bucket'].sort()
		);
		expect(services.postgres!.image).toMatch(/^postgres:17(\.|-|$)/);
		expect(services.seaweedfs!.image).toMatch(/seaweedfs:\d/);
		expect(services.seaweedfs!.command).toEqual(expect.arrayContaining(['server', '-s3']));
		expect(services.app!.build).toEqual({ context: '.', dockerfile: 'Dockerfile' });
		expect(services.mailpit!.image).toMatch(/mailpit/);
		expect(services.caddy!.image).toMatch(/^caddy:2/);

		const bucket = services['seaweedfs-bucket']!;
		expect(bucket.image).toBe(services.seaweedfs!.image);
		expect(bucket.restart).toBe('no');
		expect(String(bucket.command)).toContain('s3.bucket.create -name');
		expect(bucket.environment?.S3_BUCKET).toBe(services.app!.environment?.S3_BUCKET);
		expect(bucket.depends_on).toEqual({ seaweedfs: { condition: 'service_healthy' } });
	});

	it('gives every long-running service a health check, the app one on /readyz', () => {
		for (const [name, service] of Object.entries(services)) {
			if (service.restart === 'no') continue;
			expect(service.healthcheck?.test?.[0], name).toMatch(/^CMD(-SHELL)?$/);
			expect(service.healthcheck!.test.length, name).toBeGreaterThan(1);
			expect(service.restart, name).toBe('unless-stopped');
		}
		expect(services.app!.healthcheck!.test.join(' ')).toContain('http://127.0.0.1:3000/readyz');
		expect(services.seaweedfs!.healthcheck!.test.join(' ')).toContain(':8333/healthz');
		expect(services.postgres!.healthcheck!.test).toContain('pg_isready');
	});

	it('starts the app only once its services are healthy, migrated and the bucket exists', () => {
		expect(services.app!.depends_on).toEqual({
			postgres: { condition: 'service_healthy' },
			migrate: { condition: 'service_completed_successfully' },
			seaweedfs: { condition: 'service_healthy' },
			'seaweedfs-bucket': { condition: 'service_completed_successfully' },
			mailpit: { condition: 'service_healthy' }
		});
		for (const [name, service] of Object.entries(services)) {
			for (const dependency of Object.keys(service.depends_on ?? {})) {
				expect(services[dependency], `${name} → ${dependency}`).toBeDefined();
			}
		}
	});

	it('keeps data in declared named volumes and mounts only files that exist', () => {
		const used = new Set<string>();
		for (const [name, service] of Object.entries(services)) {
			for (const volume of service.volumes ?? []) {
				const source = volume.split(':')[0]!;
				if (source.startsWith('.') || source.startsWith('/')) {
					expect(existsSync(source), `${name}: ${source}`).toBe(true);
				} else {
					expect(compose.volumes, `${name}: ${source}`).toHaveProperty(source);
					used.add(source);
				}
			}
		}
		expect([...used].sort()).toEqual(Object.keys(compose.volumes).sort());
		expect(services.postgres!.volumes).toContain('postgres-data:/var/lib/postgresql/data');
		expect(services.seaweedfs!.volumes).toContain('seaweedfs-data:/data');
		// The app keeps no state of its own.
		expect(services.app!.volumes).toBeUndefined();
	});

	it('publishes only the TLS proxy, and the mail inbox on loopback', () => {
		const published = Object.entries(services).filter(([, s]) => s.ports?.length);
		expect(published.map(([name]) => name).sort()).toEqual(['caddy', 'mailpit']);
		expect(services.mailpit!.ports!.every((p) => p.startsWith('127.0.0.1:'))).toBe(true);
	});

	it('passes secrets as files: declared, generated, with an example, never committed', () => {
		const generator = readFileSync('docker/secrets/generate.sh', 'utf8');
		for (const [name, secret] of Object.entries(compose.secrets)) {
			expect(secret.file, name).toMatch(/^\.\/docker\/secrets\/[a-z0-9_.]+$/);
			const file = path.basename(secret.file);
			expect(existsSync(`docker/secrets/${file}.example`), file).toBe(true);
			expect(generator, file).toMatch(new RegExp(`write ${file.replace('.', '\\.')} `));
		}
		const referenced = new Set(Object.values(services).flatMap((s) => s.secrets ?? []));
		expect([...referenced].sort()).toEqual(Object.keys(compose.secrets).sort());

		const tracked = execFileSync('git', ['ls-files', 'docker/secrets'], { encoding: 'utf8' })
			.split('\n')
			.filter(Boolean)
			.map((f) => path.basename(f));
		expect(
			tracked.every((f) => f === '.gitignore' || f === 'generate.sh' || f.endsWith('.example'))
		).toBe(true);
		const ignored = spawnSync('git', ['check-ignore', '-q', 'docker/secrets/database_url']);
		expect(ignored.status).toBe(0);
	});

	it('points each *_FILE variable of the app at one of its own secrets, for a secret variable', () => {
		const app = services.app!;
		const files = Object.entries(app.environment ?? {}).filter(([name]) => name.endsWith('_FILE'));
		expect(files.length).toBeGreaterThanOrEqual(6);
		for (const [name, value] of files) {
			expect(SECRET_VARIABLES as readonly string[], name).toContain(name.slice(0, -'_FILE'.length));
			const match = /^\/run\/secrets\/([a-z0-9_]+)$/.exec(value);
			expect(match, name).not.toBeNull();
			expect(app.secrets, name).toContain(match![1]);
		}
		// Secrets never appear as plain values in the compose file.
		for (const name of SECRET_VARIABLES) {
			expect(app.environment, name).not.toHaveProperty(name);
		}
	});

	it('creates the owner and application roles when PostgreSQL first starts', () => {
		const mount = services.postgres!.volumes!.find((v) =>
			v.includes('/docker-entrypoint-initdb.d/')
		);
		expect(mount).toBeDefined();
		const script = readFileSync(mount!.split(':')[0]!, 'utf8');
		accessSync(mount!.split(':')[0]!, constants.X_OK);
		// The defaults are the names the audit migration and the secrets generator use; what the
		// script does with them is tested against the server in database-roles.test.ts.
		expect(script).toContain('owner="${OWNER_ROLE:-jiss_owner}"');
		expect(script).toContain('app="${APP_ROLE:-jiss_app}"');
		expect(script).toContain('database="${INTRANET_DB:-intranet}"');
		expect(script).toContain('secrets="${SECRETS_DIR:-/run/secrets}"');
		expect(services.postgres!.environment?.POSTGRES_PASSWORD_FILE).toBe(
			'/run/secrets/postgres_password'
		);
	});

	it('gives the app a production configuration it accepts, with generated secrets', () => {
		const dir = mkdtempSync(path.join(os.tmpdir(), 'jiss-secrets-'));
		temp.push(dir);
		const generated = spawnSync('bash', ['docker/secrets/generate.sh', dir], { encoding: 'utf8' });
		expect(generated.status, generated.stderr).toBe(0);
		for (const secret of Object.values(compose.secrets)) {
			const file = path.join(dir, path.basename(secret.file));
			expect(statSync(file).size, file).toBeGreaterThan(0);
		}
		// A second run keeps what is there: the database passwords are fixed at first start.
		const before = readFileSync(path.join(dir, 'database_url'), 'utf8');
		spawnSync('bash', ['docker/secrets/generate.sh', dir]);
		expect(readFileSync(path.join(dir, 'database_url'), 'utf8')).toBe(before);

		const env: Environment = {};
		for (const [name, value] of Object.entries(services.app!.environment ?? {})) {
			env[name] = interpolate(value).replace(/^\/run\/secrets\/(.+)$/, (_, secret: string) =>
				path.join(dir, path.basename(compose.secrets[secret]!.file))
			);
		}
		const config = loadConfig(env);
		expect(config.mode).toBe('production');
		expect(config.origin).toBe('https://localhost');
		if (config.database.kind !== 'postgres') throw new Error('expected PostgreSQL');
		expect(new URL(config.database.url).username).toBe('jiss_app');
		expect(config.database.ownerUrl).toBe(config.database.url);
		expect(config.database.migrateOnStart).toBe(false);
		expect(new URL(config.database.url).host).toBe('postgres:5432');

		// The migration job gets the owner's URL and the app's (whose role it narrows on the
		// audit log), and nothing else.
		const jobEnv: Environment = {};
		for (const [name, value] of Object.entries(services.migrate!.environment ?? {})) {
			jobEnv[name] = value.replace(/^\/run\/secrets\/(.+)$/, (_, secret: string) =>
				path.join(dir, path.basename(compose.secrets[secret]!.file))
			);
		}
		const job = loadDatabaseConfig(jobEnv);
		if (job.kind !== 'postgres') throw new Error('expected PostgreSQL');
		expect(new URL(job.ownerUrl).username).toBe('jiss_owner');
		expect(new URL(job.ownerUrl).password).toBe(
			readFileSync(path.join(dir, 'db_owner_password'), 'utf8').trim()
		);
		expect(job.url).toBe(config.database.url);
		if (config.storage.kind !== 's3') throw new Error('expected S3');
		expect(config.storage.endpoint).toBe('http://seaweedfs:8333');
		expect(config.storage.forcePathStyle).toBe(true);

		const seaweed = JSON.parse(readFileSync(path.join(dir, 'seaweedfs_s3.json'), 'utf8'));
		expect(seaweed.identities[0].credentials[0]).toEqual({
			accessKey: config.storage.credentials?.accessKeyId,
			secretKey: config.storage.credentials?.secretAccessKey
		});
		const dbPassword = readFileSync(path.join(dir, 'db_app_password'), 'utf8').trim();
		expect(new URL(config.database.url).password).toBe(dbPassword);
	});

	it('keeps the owner role away from the long-running app: only the migrate job has it', () => {
		const holders = Object.entries(services)
			.filter(([, service]) => service.secrets?.includes('database_owner_url'))
			.map(([name]) => name);
		expect(holders).toEqual(['migrate']);
		const migrate = services.migrate!;
		expect(migrate.restart).toBe('no');
		expect(migrate.image).toBe(services.app!.image);
		expect(migrate.build).toEqual(services.app!.build);
		expect(migrate.command).toEqual(['node', 'build/cli/migrate.js']);
		expect(migrate.secrets).toEqual(['database_url', 'database_owner_url']);
		expect(migrate.environment).toEqual({
			DATABASE_URL_FILE: '/run/secrets/database_url',
			DATABASE_OWNER_URL_FILE: '/run/secrets/database_owner_url'
		});
		expect(migrate.depends_on).toEqual({ postgres: { condition: 'service_healthy' } });
		expect(migrate.healthcheck?.disable).toBe(true);
		expect(services.app!.environment).not.toHaveProperty('DATABASE_OWNER_URL_FILE');
		expect(services.app!.environment?.DATABASE_MIGRATE_ON_START).toBe('false');
		// The image builds the command the job runs.
		expect(dockerfile).toMatch(/vite build --config vite\.cli\.config\.ts/);
		expect(readFileSync('vite.cli.config.ts', 'utf8')).toMatch(/outDir: 'build\/cli'/);
	});

	it('shows the right format in its example secrets, whose all-zero keys alone are refused', () => {
		const env: Environment = {};
		for (const [name, value] of Object.entries(services.app!.environment ?? {})) {
			env[name] = interpolate(value).replace(/^\/run\/secrets\/(.+)$/, (_, secret: string) =>
				path.resolve(compose.secrets[secret]!.file + '.example')
			);
		}
		let problems: ConfigError['problems'] = [];
		try {
			loadConfig(env);
		} catch (error) {
			if (!(error instanceof ConfigError)) throw error;
			problems = error.problems;
		}
		// Copied as they are, the example keys (known to everyone) would be no secret.
		expect(problems.map((p) => p.variable).sort()).toEqual([
			'AUDIT_SIGNING_KEY',
			'MFA_ENCRYPTION_KEYS'
		]);
		for (const problem of problems) expect(problem.message).toContain('all zero bytes');
		JSON.parse(readFileSync('docker/secrets/seaweedfs_s3.json.example', 'utf8'));
	});
});

describe('Dockerfile', () => {
	const stages = [...dockerfile.matchAll(/^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/gim)].map((m) => ({
		image: m[1]!,
		name: m[2]
	}));
	const final = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));

	it('builds in stages on Node 24 images', () => {
		expect(stages.length).toBeGreaterThanOrEqual(2);
		for (const stage of stages) expect(stage.image).toMatch(/^node:24([.-]|$)/);
		expect(dockerfile).toMatch(/RUN npm ci\b/);
		expect(dockerfile).toMatch(/RUN npm run build/);
		expect(dockerfile).toMatch(/npm ci --omit=dev/);
	});

	it('runs from a last stage holding only production dependencies, the build and migrations', () => {
		const copies = [...final.matchAll(/^COPY\s+(.*)$/gm)].map((m) => m[1]!);
		expect(copies.every((c) => c.startsWith('--from='))).toBe(true);
		const targets = copies.map((c) => c.split(/\s+/).at(-1));
		expect(targets.sort()).toEqual([
			'./build',
			'./drizzle',
			'./node_modules',
			'./package.json',
			'./server.js'
		]);
		const depsStage = /COPY --from=(\S+) \/app\/node_modules/.exec(final)![1];
		const deps = dockerfile.slice(dockerfile.indexOf(`AS ${depsStage}`));
		expect(deps.slice(0, deps.indexOf('\nFROM '))).toMatch(/npm ci --omit=dev/);
		expect(final).not.toMatch(/npm (ci|install)/);
	});

	it('runs as an unprivileged user, with a health check on /readyz', () => {
		const users = [...final.matchAll(/^USER\s+(\S+)/gm)].map((m) => m[1]);
		expect(users.length).toBeGreaterThan(0);
		expect(users.at(-1)).not.toMatch(/^(root|0)(:|$)/);
		expect(final).toMatch(/^HEALTHCHECK\b[\s\S]*\/readyz/m);
		expect(final).toMatch(/^CMD \["node", "server\.js"\]/m);
		expect(final).toMatch(/^EXPOSE 3000$/m);
		expect(final).toMatch(/BODY_SIZE_LIMIT=Infinity/);
		// The instruction order matters: USER before CMD, so the process never runs as root.
		expect(final.indexOf('\nUSER ')).toBeLessThan(final.indexOf('\nCMD '));
	});

	it('keeps local data, dependencies and secrets out of the build context', () => {
		const ignored = readFileSync('.dockerignore', 'utf8').split('\n');
		for (const entry of ['node_modules', 'data', 'docker/secrets', '.git', 'build', '.env']) {
			expect(ignored, entry).toContain(entry);
		}
	});
});
