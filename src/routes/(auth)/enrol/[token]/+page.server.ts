import { fail } from '@sveltejs/kit';
import * as audit from '$lib/server/audit';
import * as enrolments from '$lib/server/auth/enrolment';
import { PASSWORD_MAX_LENGTH } from '$lib/server/auth/password-policy';
import * as totp from '$lib/server/auth/totp';
import { getConfig } from '$lib/server/config';
import { getDb } from '$lib/server/db';
import type { Actions, PageServerLoad } from './$types';

/** Public: the link itself is the credential (256 random bits, single use, 72 hours). */
export const load: PageServerLoad = async ({ params }) => {
	const open = await enrolments.lookup(getDb(), params.token);
	if (!open) return { valid: false as const };
	return {
		valid: true as const,
		purpose: open.purpose,
		email: open.email,
		displayName: open.displayName,
		minLength: getConfig().passwordMinLength,
		maxLength: PASSWORD_MAX_LENGTH,
		setup: totp.newSetup(open.email)
	};
};

function field(form: FormData, name: string): string {
	const value = form.get(name);
	return typeof value === 'string' ? value : '';
}

export const actions: Actions = {
	default: async (event) => {
		const form = await event.request.formData();
		const input = {
			token: event.params.token,
			password: field(form, 'password'),
			confirm: field(form, 'confirm'),
			secret: field(form, 'secret').slice(0, 64),
			code: field(form, 'code').slice(0, 64)
		};
		const open = await enrolments.lookup(getDb(), input.token);
		if (!open) return fail(400, { problem: 'invalid_link' as string, setup: null });
		const result = await enrolments.complete(input, audit.contextOf(event));
		if (result.kind === 'done') {
			return { done: true as const, recoveryCodes: result.recoveryCodes };
		}
		// The same secret again, so that the code already scanned keeps working.
		const secret = enrolments.parseSecret(input.secret);
		const setup = totp.newSetup(open.email, secret ?? undefined);
		const problem: string = result.kind === 'password' ? result.problem : result.kind;
		return fail(400, { problem, setup });
	}
};
