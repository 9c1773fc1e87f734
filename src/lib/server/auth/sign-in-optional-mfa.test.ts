import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
	createAccount,
	createAuthFixture,
	type AuthFixture
} from '../../../../tests/helpers/auth-fixture';
import * as sessions from './sessions';
import * as signIn from './sign-in';

let fixture: AuthFixture;
beforeAll(async () => {
	fixture = await createAuthFixture({ MFA_REQUIRED_FOR_ALL: 'false' });
});
afterAll(async () => {
	await fixture?.close();
});

const context: signIn.SignInContext = { ip: '198.51.100.8', userAgent: 'vitest' };

describe('MFA configured off for everyone', () => {
	it('signs staff in without a second step when they have no authenticator', async () => {
		const staff = await createAccount(fixture, { totp: false });
		const result = await signIn.passwordStep(staff, context);
		expect(result.kind).toBe('signed_in');
		if (result.kind !== 'signed_in') return;
		expect((await sessions.validate(fixture.db, result.token))?.user.id).toBe(staff.id);
	});

	it('still asks for the code of anyone who enrolled one', async () => {
		const staff = await createAccount(fixture);
		expect((await signIn.passwordStep(staff, context)).kind).toBe('second_factor');
	});

	it('never lets an administrator or auditor in without a second factor', async () => {
		for (const roles of [['administrator'], ['auditor']] as const) {
			const person = await createAccount(fixture, { totp: false, roles: [...roles] });
			expect(await signIn.passwordStep(person, context)).toEqual({ kind: 'failed' });
		}
	});
});
