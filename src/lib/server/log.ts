import { AsyncLocalStorage } from 'node:async_hooks';
import pino from 'pino';

interface RequestContext {
	requestId: string;
}

export const requestContext = new AsyncLocalStorage<RequestContext>();

/**
 * Structured JSON logs; every line written during a request carries its request id.
 * Secrets are redacted by key wherever they appear, as a second line of defence.
 */
export const log = pino({
	level: 'info',
	base: { service: 'jiss-intranet' },
	timestamp: pino.stdTimeFunctions.isoTime,
	mixin: () => {
		const context = requestContext.getStore();
		return context ? { requestId: context.requestId } : {};
	},
	redact: {
		paths: [
			'password',
			'*.password',
			'token',
			'*.token',
			'secret',
			'*.secret',
			'cookie',
			'*.cookie',
			'authorization',
			'*.authorization',
			'headers.cookie',
			'headers.authorization',
			'*.headers.cookie',
			'*.headers.authorization',
			'url.search'
		],
		censor: '[redacted]'
	}
});
