import type { HandleServerError, ServerInit } from '@sveltejs/kit';
import { sequence } from '@sveltejs/kit/hooks';
import { authenticate } from '$lib/server/http/authenticate';
import { authorize } from '$lib/server/http/authorize';
import { bodyLimit } from '$lib/server/http/body-limit';
import { crossSiteGuard } from '$lib/server/http/cross-site';
import { i18n } from '$lib/server/http/i18n';
import { requestId } from '$lib/server/http/request-id';
import { securityHeaders } from '$lib/server/http/security-headers';
import { log } from '$lib/server/log';
import { startOrExit } from '$lib/server/startup';

export const init: ServerInit = async () => {
	await startOrExit();
};

export const handle = sequence(
	requestId,
	securityHeaders,
	crossSiteGuard,
	bodyLimit(),
	authenticate,
	authorize,
	i18n
);

export const handleError: HandleServerError = ({ error, event, status, message }) => {
	const requestId = event.locals.requestId;
	if (status === 404) return { message: 'Not Found', requestId };
	// The route id, not the path: paths can hold one-time tokens.
	log.error({ err: error, status, route: event.route.id }, 'unhandled error');
	return { message: status >= 500 ? 'Internal Error' : message, requestId };
};
