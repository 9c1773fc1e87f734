import { json } from '@sveltejs/kit';
import type { RequestHandler } from './$types';

// Public by design: it says only that the process answers.
export const GET: RequestHandler = () => json({ status: 'ok' });
