// The production entry point: adapter-node's own server (build/index.js: HOST, PORT, ORIGIN,
// SOCKET_PATH, SHUTDOWN_TIMEOUT, IDLE_TIMEOUT, KEEP_ALIVE_TIMEOUT, HEADERS_TIMEOUT, graceful
// shutdown on SIGTERM and SIGINT), with one change that adapter-node does not offer a setting
// for: Node's request timeout (the whole request must have arrived within `requestTimeout`,
// 300 s by default) no longer applies to the upload routes, where it would cut a 1 GiB upload
// on a slow link. Those routes have the app's own idle timeout instead (UPLOAD_IDLE_TIMEOUT_MS:
// a body that stops moving is answered 408). Every other route keeps a request timeout of
// REQUEST_TIMEOUT seconds (default 300, as Node's; 0 turns it off).
import { server } from './build/index.js';

const raw = process.env.REQUEST_TIMEOUT ?? '300';
if (!/^\d+$/.test(raw)) {
	throw new Error(`REQUEST_TIMEOUT must be a whole number of seconds, not ${raw}`);
}
const requestTimeoutMs = Number(raw) * 1000;

/** The routes that stream a file (src/lib/server/http/body-limit.ts, UPLOAD_ROUTE_IDS). */
const UPLOAD_PATH = /^\/documents\/(?:\d+\/versions\/)?upload\/?$/;

/** @type {import('node:http').Server} */
const httpServer = server.server;
// Node reads this on each of its periodic connection checks, so setting it once the server
// exists (it begins listening only after this module has run) takes effect for every request.
httpServer.requestTimeout = 0;
// An upload refused before its body was read (401 to a stranger, 403 for a bad Origin, any
// refusal) is an ordinary request again: Node goes on reading and discarding its body to keep
// the connection alive, so without this a body dripping in a byte at a time would hold the
// connection for ever. It gets what every other request gets, REQUEST_TIMEOUT from its start to
// arrive whole (a client still sending a small body just after the answer is not cut short).
if (requestTimeoutMs > 0) {
	httpServer.on('request', (request, response) => {
		if (request.method !== 'POST' || !UPLOAD_PATH.test(pathOf(request.url))) return;
		const started = Date.now();
		response.once('finish', () => {
			if (request.complete) return;
			const socket = request.socket;
			const timer = setTimeout(
				() => {
					if (!request.complete) socket.destroy();
				},
				Math.max(0, started + requestTimeoutMs - Date.now())
			);
			timer.unref();
			const clear = () => clearTimeout(timer);
			request.once('end', clear);
			socket.once('close', clear);
		});
	});
}

if (requestTimeoutMs > 0) {
	httpServer.on('request', (request, response) => {
		if (request.complete) return;
		if (request.method === 'POST' && UPLOAD_PATH.test(pathOf(request.url))) return;
		const timer = setTimeout(() => {
			if (request.complete) return;
			// As Node's own request timeout: a bare 408 if nothing was answered yet, then the
			// connection closed, so a client dripping its body cannot hold it open.
			const socket = request.socket;
			if (!response.headersSent && socket.writable) {
				socket.write('HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n');
			}
			socket.destroy();
		}, requestTimeoutMs);
		timer.unref();
		const clear = () => clearTimeout(timer);
		request.once('end', clear);
		request.once('close', clear);
	});
}

/** @param {string | undefined} url */
function pathOf(url) {
	try {
		return new URL(url ?? '/', 'http://localhost').pathname;
	} catch {
		return '';
	}
}
