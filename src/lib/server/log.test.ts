import { sql } from 'drizzle-orm';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppendFailedError } from './audit/append';
import { createTestDatabase, type TestDatabase } from '../../../tests/helpers/database';
import { log, serializeError } from './log';

let database: TestDatabase;
beforeAll(async () => {
	database = await createTestDatabase();
});
afterAll(async () => {
	await database?.drop();
});

const SECRET = '$argon2id$v=19$m=19456,t=2,p=1$c2VjcmV0LXNhbHQ$not-for-the-log';

async function failedQuery(): Promise<unknown> {
	try {
		// A statement that fails on the server with a secret among its bound values.
		await database.handle.db.execute(sql`select ${SECRET}::integer as n, ${'second value'} as m`);
	} catch (error) {
		return error;
	}
	throw new Error('the query did not fail');
}

describe('logged errors', () => {
	it('keep the failed statement and its cause but not the values bound to it', async () => {
		const error = await failedQuery();
		// What drizzle hands over: the values are in the message, the stack and a property.
		expect(String((error as Error).message)).toContain(SECRET);
		const logged = JSON.stringify(serializeError(error));
		expect(logged).not.toContain(SECRET);
		expect(logged).not.toContain('second value');
		expect(logged).toContain('Failed query: select $1::integer as n, $2 as m');
		// The database's own explanation survives, and so does where it happened.
		expect(logged).toMatch(/invalid input syntax for type integer: \\"…\\"/);
		expect((serializeError(error) as { stack: string }).stack).toMatch(/\n {4}at /);
	});

	it('drop the row a constraint violation repeats', async () => {
		await database.handle.db.execute(sql`create table log_probe (email text unique)`);
		await database.handle.db.execute(sql`insert into log_probe values (${SECRET})`);
		let error: unknown;
		try {
			await database.handle.db.execute(sql`insert into log_probe values (${SECRET})`);
		} catch (caught) {
			error = caught;
		}
		// The server's explanation repeats the value (its detail: `Key (email)=(…) already exists`).
		expect(JSON.stringify(error, Object.getOwnPropertyNames(error))).toContain(SECRET);
		const logged = JSON.stringify(serializeError(error));
		expect(logged).not.toContain(SECRET);
		expect(logged).toContain('duplicate key value violates unique constraint');
		expect(serializeError(error)).toMatchObject({ sqlState: '23505' });
	});

	it('leave other errors as the standard serializer writes them', () => {
		const plain = new Error('plain failure');
		const standard = pino.stdSerializers.err(plain);
		expect(serializeError(plain)).toEqual({
			type: standard.type,
			message: standard.message,
			stack: standard.stack
		});
	});

	it('keep an error’s codes and kinds, never the data it carries', () => {
		// A failed audit step carries the events it tried to write (titles, names, searches).
		const rows = [{ actorName: 'Kato Taro' }] as unknown as ConstructorParameters<
			typeof AppendFailedError
		>[0];
		const failed = new AppendFailedError(rows, {
			cause: Object.assign(new Error('connection lost'), { code: 'ECONNRESET' })
		});
		const written = JSON.stringify(serializeError(failed));
		expect(written).not.toContain('Kato Taro');
		expect(serializeError(failed)).toMatchObject({ type: 'AppendFailedError' });
		// The URL parser's error carries the whole URL, password included.
		let parseError: unknown;
		try {
			new URL('postgres://app:Sup3r/S3cret@db:5432/jiss');
		} catch (caught) {
			parseError = caught;
		}
		expect(parseError).toBeInstanceOf(TypeError);
		const url = serializeError(parseError);
		expect(JSON.stringify(url)).not.toContain('S3cret');
		expect(url).toMatchObject({ code: 'ERR_INVALID_URL' });
	});

	it('are written through that serializer under err and error', () => {
		const serializers = (log as unknown as Record<symbol, Record<string, unknown>>)[
			pino.symbols.serializersSym
		]!;
		expect(serializers.err).toBe(serializeError);
		expect(serializers.error).toBe(serializeError);
	});
});
