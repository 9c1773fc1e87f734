import { isHttpError } from '@sveltejs/kit';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { desc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVaultWorld, type Person, type VaultWorld } from '../../../../tests/helpers/vault';
import { GET as download } from '../../../routes/(app)/documents/[id]/download/+server';
import { GET as preview } from '../../../routes/(app)/documents/[id]/preview/+server';
import { POST as versionUpload } from '../../../routes/(app)/documents/[id]/versions/upload/+server';
import { GET as versionDownload } from '../../../routes/(app)/documents/[id]/versions/[n]/download/+server';
import { load as viewer } from '../../../routes/(app)/documents/[id]/viewer/+page.server';
import { loadConfig, setConfig } from '../config';
import { auditEvent } from '../db/schema';
import { createFromRequest } from './upload';

/**
 * Every file route, called as SvelteKit calls it: an unknown id and each kind of unreadable
 * document get the very same 404, and each is audited as a denial with its true reason.
 */
const ORIGIN = 'http://intranet.test';
let world: VaultWorld;
let author: Person;
let reader: Person;
let dir: string;
const ids: Record<string, string> = {};

function eventFor(
	person: Person,
	route: string,
	params: Record<string, string>,
	init?: RequestInit
) {
	const url = new URL(`${ORIGIN}${route}`);
	return {
		locals: {
			requestId: 'r',
			clientIp: '127.0.0.1',
			user: person.user,
			session: null
		},
		url,
		params,
		request: new Request(url, init),
		route: { id: route },
		getClientAddress: () => '127.0.0.1'
	} as never;
}

async function upload(fields: Record<string, string | string[]>, name = 'a.txt') {
	const data = new FormData();
	for (const [k, v] of Object.entries(fields)) for (const x of [v].flat()) data.append(k, x);
	data.append('file', new File([new TextEncoder().encode('secret text')], name));
	const id = await createFromRequest({
		request: new Request(`${ORIGIN}/documents/upload`, { method: 'POST', body: data }),
		user: author.user,
		context: {}
	});
	return String(id);
}

beforeAll(async () => {
	dir = mkdtempSync(path.join(os.tmpdir(), 'jiss-routes-'));
	setConfig(loadConfig({ DATA_DIR: dir, ORIGIN, INTRANET_MODE: 'demo' }));
	world = await createVaultWorld();
	author = await world.person({ name: 'Author', level: 4, compartments: ['SDA', 'MD'] });
	reader = await world.person({ name: 'Reader', level: 2, compartments: ['SDA'] });
	const release = [String(world.org.JISS)];
	ids.readable = await upload({ title: 'Open', level: '1', releasability: release, publish: 'on' });
	ids.level = await upload({
		title: 'Too high',
		level: '3',
		releasability: release,
		publish: 'on'
	});
	ids.compartment = await upload({
		title: 'Other compartment',
		level: '1',
		compartments: [String(world.comp.MD)],
		releasability: release,
		publish: 'on'
	});
	ids.release = await upload({
		title: 'Not released',
		level: '0',
		releasability: [String(world.org.JISS)],
		publish: 'on'
	});
	ids.draft = await upload({ title: 'Draft', level: '0', releasability: release });
});

afterAll(async () => {
	await world?.close();
	rmSync(dir, { recursive: true, force: true });
});

type Call = (person: Person, id: string) => unknown;
const routes: [string, Call][] = [
	['download', (p, id) => download(eventFor(p, `/documents/${id}/download`, { id }))],
	['preview', (p, id) => preview(eventFor(p, `/documents/${id}/preview`, { id }))],
	[
		'version download',
		(p, id) => versionDownload(eventFor(p, `/documents/${id}/versions/1/download`, { id, n: '1' }))
	],
	['viewer', (p, id) => viewer(eventFor(p, `/documents/${id}/viewer`, { id }))],
	[
		'version upload',
		(p, id) => {
			const data = new FormData();
			data.append('file', new File(['x'], 'x.txt'));
			return versionUpload(
				eventFor(
					p,
					`/documents/${id}/versions/upload`,
					{ id },
					{
						method: 'POST',
						body: data,
						headers: { origin: ORIGIN }
					}
				)
			);
		}
	]
];

async function outcome(call: unknown) {
	try {
		const result = await call;
		return { ok: result instanceof Response ? result.status : 'data' };
	} catch (error) {
		if (isHttpError(error)) return { status: error.status, body: error.body };
		throw error;
	}
}

describe.each(routes)('the %s route', (_name, call) => {
	it('answers an unknown id and every unreadable document with the same 404, audited with the true reason', async () => {
		const expectedReasons: [string, string][] = [
			['999999', 'not_found'],
			['abc', 'invalid_id'],
			[ids.level!, 'level'],
			[ids.compartment!, 'compartment'],
			[ids.draft!, 'draft']
		];
		const answers = [];
		for (const [id, reason] of expectedReasons) {
			answers.push(await outcome(call(reader, id)));
			const [event] = await world.db
				.select()
				.from(auditEvent)
				.orderBy(desc(auditEvent.seq))
				.limit(1);
			expect(event).toMatchObject({
				action: 'document.denied',
				outcome: 'denied',
				actorId: reader.id
			});
			expect(event!.details).toMatchObject({ reason });
		}
		for (const answer of answers)
			expect(answer).toEqual({ status: 404, body: { message: 'Not Found' } });
	});
});

describe('a partner organisation', () => {
	it('gets the same 404 for a JISS-only document', async () => {
		const partner = await world.person({ name: 'Partner', org: 'AUS', level: 4 });
		expect(await outcome(routes[0]![1](partner, ids.release!))).toEqual({
			status: 404,
			body: { message: 'Not Found' }
		});
		const [event] = await world.db
			.select()
			.from(auditEvent)
			.where(eq(auditEvent.actorId, partner.id))
			.orderBy(desc(auditEvent.seq))
			.limit(1);
		expect(event!.details).toMatchObject({ reason: 'release' });
	});

	it('lets a reader who may read download it (control)', async () => {
		const answer = (await download(
			eventFor(reader, `/documents/${ids.readable}/download`, { id: ids.readable! })
		)) as Response;
		expect(answer.status).toBe(200);
		expect(await answer.text()).toBe('secret text');
	});
});
