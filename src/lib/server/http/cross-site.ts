import { error, type Handle, type RequestEvent } from '@sveltejs/kit';
import { m } from '$lib/paraglide/messages';
import * as audit from '../audit';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Whether another site started the request, by the browser's `Sec-Fetch-Site`: a foreign site
 * (`cross-site`) or a sibling under the same registrable domain (`same-site`), neither of which
 * is this intranet. Requests without the header (non-browser clients) are not marked.
 */
export function startedElsewhere(request: Request): 'cross-site' | 'same-site' | null {
	const site = request.headers.get('sec-fetch-site');
	return site === 'cross-site' || site === 'same-site' ? site : null;
}

/**
 * SvelteKit's origin check covers form posts; this refuses every other state-changing request
 * another site started too (fetch with JSON, uploads, a sign-out posted without a form type).
 */
export const crossSiteGuard: Handle = ({ event, resolve }) => {
	if (!SAFE_METHODS.has(event.request.method) && startedElsewhere(event.request)) {
		return new Response('Forbidden', {
			status: 403,
			headers: { 'Content-Type': 'text/plain; charset=utf-8' }
		});
	}
	return resolve(event);
};

/**
 * For a download that records an act in the person's name (an export): with a SameSite=Lax
 * cookie, a link on another site would otherwise make the browser export under their name.
 * Refused (403, a clear message) and audited as a denial of that act.
 */
export async function refuseExportStartedElsewhere(
	event: RequestEvent,
	action: audit.AuditAction
): Promise<void> {
	const site = startedElsewhere(event.request);
	if (!site) return;
	await audit.record({
		...audit.contextOf(event),
		action,
		outcome: 'denied',
		details: { reason: 'cross_site', site }
	});
	error(403, m.export_cross_site());
}
