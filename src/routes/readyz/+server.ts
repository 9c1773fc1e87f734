import { json } from '@sveltejs/kit';
import { checkReadiness } from '$lib/server/health';
import type { RequestHandler } from './$types';

// Public by design (load balancers call it); it names failing parts, never their errors.
export const GET: RequestHandler = async () => {
	const readiness = await checkReadiness();
	return json(
		{
			status: readiness.ready ? 'ready' : 'not ready',
			...readiness.checks,
			failing: readiness.failing
		},
		{ status: readiness.ready ? 200 : 503 }
	);
};
