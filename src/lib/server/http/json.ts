import { error } from '@sveltejs/kit';
import type { z } from 'zod';

/** True for `application/json` with or without parameters such as charset. */
export function isJsonContentType(value: string | null): boolean {
	if (!value) return false;
	return value.split(';')[0]!.trim().toLowerCase() === 'application/json';
}

/**
 * Reads a JSON body for an endpoint: only `application/json` is accepted (a form post from
 * another site cannot send that type without a CORS preflight), then the schema decides.
 */
export async function readJson<T extends z.ZodType>(
	request: Request,
	schema: T
): Promise<z.infer<T>> {
	if (!isJsonContentType(request.headers.get('content-type'))) {
		error(415, 'Unsupported Media Type');
	}
	let value: unknown;
	try {
		value = await request.json();
	} catch {
		// A body over the size limit ends up as 413: the body-limit handle replaces this answer.
		error(400, 'Bad Request');
	}
	const parsed = schema.safeParse(value);
	if (!parsed.success) error(400, 'Bad Request');
	return parsed.data;
}
