import { json } from '@sveltejs/kit';
import { z } from 'zod';
import { pages, requireVaultUser, vaultContext } from '$lib/server/vault';
import type { RequestHandler } from './$types';

const suggestQuery = z.string().trim().min(1).max(100);

export const GET: RequestHandler = async (event) => {
	const vault = await requireVaultUser(event);
	const parsed = suggestQuery.safeParse(event.url.searchParams.get('q') ?? '');
	if (!parsed.success) return json({ suggestions: [] });
	const found = await pages.suggestions(vaultContext(event, vault), parsed.data);
	return json(
		{ suggestions: found.map((f) => ({ id: f.id, title: f.title })) },
		{ headers: { 'Cache-Control': 'no-store' } }
	);
};
