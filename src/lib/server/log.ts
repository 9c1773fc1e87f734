import { AsyncLocalStorage } from 'node:async_hooks';
import pino from 'pino';

interface RequestContext {
	requestId: string;
}

export const requestContext = new AsyncLocalStorage<RequestContext>();

/** Properties of database errors that hold a query's bound values or a row's contents. */
const VALUE_KEYS = ['params', 'parameters', 'args', 'detail', 'where', 'internalQuery'];

/** A database server's error: it has an SQLSTATE code. */
function isServerError(error: Error): boolean {
	const code = (error as { code?: unknown }).code;
	return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && 'severity' in error;
}

/**
 * An error to log without the values of the statement that failed. Drizzle wraps every failed
 * query in an error whose message (and so stack) ends with `params: …`, the statement's bound
 * values: for an account update, a password hash and an encrypted TOTP secret. PostgreSQL's
 * own messages quote a refused value (`invalid input syntax for type integer: "…"`) and its
 * details repeat a row or a key. Redacting by key cannot reach text inside a message, so such
 * errors are logged with the statement's SQL, the server's code and message with quoted values
 * elided, and no details.
 */
function withoutBoundValues(error: unknown, depth = 0): unknown {
	if (!(error instanceof Error) || depth > 5) return error;
	const cause = withoutBoundValues(error.cause, depth + 1);
	const fromServer = isServerError(error);
	const query = (error as { query?: unknown }).query;
	const failedQuery = typeof query === 'string' && error.message.startsWith('Failed query:');
	if (!fromServer && !failedQuery && !VALUE_KEYS.some((k) => k in error) && cause === error.cause)
		return error;
	let message = error.message;
	if (failedQuery) message = `Failed query: ${query}`;
	if (fromServer) message = message.replace(/"(?:[^"]|"")*"/g, '"…"');
	const frames = error.stack?.indexOf('\n    at ') ?? -1;
	const copy = new Error(message, { cause });
	copy.name = error.name;
	copy.stack = `${error.name}: ${message}${frames >= 0 ? error.stack!.slice(frames) : ''}`;
	for (const [key, value] of Object.entries(error)) {
		if (VALUE_KEYS.includes(key) || key === 'cause' || key === 'message' || key === 'stack')
			continue;
		(copy as unknown as Record<string, unknown>)[key] = value;
	}
	return copy;
}

/**
 * The own fields of an error that a log line keeps: codes and kinds, never data. Anything else
 * an error carries (the events of a failed audit step, the whole URL a parser could not read,
 * a request's body) stays out of the log.
 */
const KEPT_FIELDS = new Set([
	'type',
	'message',
	'stack',
	'code',
	'errno',
	'syscall',
	'status',
	'statusCode',
	'reason',
	'kind',
	'sqlState'
]);

export function serializeError(error: unknown) {
	const all: Record<string, unknown> = pino.stdSerializers.err(withoutBoundValues(error) as Error);
	const serialized: Record<string, unknown> = {};
	for (const [key, value] of Object.entries(all)) {
		const scalar = value === null || ['string', 'number', 'boolean'].includes(typeof value);
		if (KEPT_FIELDS.has(key) && scalar) serialized[key] = value;
	}
	// The SQLSTATE of a database error anywhere in the chain (e.g. 23505, 40001): the cause's
	// own fields are not written by the standard serializer, only its message.
	for (let e: unknown = error, depth = 0; e instanceof Error && depth <= 5; e = e.cause, depth++) {
		if (isServerError(e)) {
			serialized.sqlState ??= (e as unknown as { code: string }).code;
			break;
		}
	}
	return serialized;
}

/**
 * Structured JSON logs; every line written during a request carries its request id.
 * Secrets are redacted by key wherever they appear, as a second line of defence.
 */
export const log = pino({
	level: 'info',
	base: { service: 'jiss-intranet' },
	timestamp: pino.stdTimeFunctions.isoTime,
	serializers: { err: serializeError, error: serializeError },
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
