import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
	createAccount,
	createAuthFixture,
	type AuthFixture
} from '../../../../tests/helpers/auth-fixture';

// The real comparison, observed: the test checks which path the secret check takes.
const compared = vi.hoisted(() => ({ calls: [] as [Uint8Array, Uint8Array][] }));
vi.mock('@oslojs/crypto/subtle', async (importOriginal) => {
	const actual = await importOriginal<typeof import('@oslojs/crypto/subtle')>();
	return {
		...actual,
		constantTimeEqual: (a: Uint8Array, b: Uint8Array) => {
			compared.calls.push([a, b]);
			return actual.constantTimeEqual(a, b);
		}
	};
});

const sessions = await import('./sessions');

let fixture: AuthFixture;
beforeAll(async () => {
	fixture = await createAuthFixture();
});
afterAll(async () => {
	await fixture?.close();
});

describe('the secret check', () => {
	it('compares SHA-256 digests in constant time, for right and wrong secrets alike', async () => {
		const person = await createAccount(fixture);
		const { token } = await sessions.create(fixture.db, {
			accountId: person.id,
			mfaVerified: true
		});
		const [id, secret] = token.split('.') as [string, string];

		compared.calls.length = 0;
		expect(await sessions.validate(fixture.db, `${id}.${'b'.repeat(32)}`)).toBeNull();
		expect(compared.calls).toHaveLength(1);
		const [given, stored] = compared.calls[0]!;
		// Fixed-length digests on both sides: the time taken does not depend on the input.
		expect(given).toHaveLength(32);
		expect(stored).toHaveLength(32);

		compared.calls.length = 0;
		expect(await sessions.validate(fixture.db, `${id}.${secret}`)).not.toBeNull();
		expect(compared.calls).toHaveLength(1);

		// A malformed token or an unknown id never gets as far as a comparison.
		compared.calls.length = 0;
		expect(await sessions.validate(fixture.db, `${id}.short`)).toBeNull();
		expect(await sessions.validate(fixture.db, `${'a'.repeat(24)}.${secret}`)).toBeNull();
		expect(compared.calls).toHaveLength(0);
	});
});
