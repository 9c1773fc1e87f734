// The files benchmark's floor for a download: the smallest Node HTTP server that serves an
// object from the store, in its own process as the app is. Every GET answers the object named on
// the command line through the same S3 adapter the app uses, piped straight into the response:
// no sign-in, no access check, no audit event, no SvelteKit. The app can be no faster than this,
// whatever it does, because the bytes take the same path (store -> this process -> client).
// Prints its port on the first line of stdout once it listens.
import http from 'node:http';
import { loadConfig } from '../../../src/lib/server/config';
import { createObjectStore } from '../../../src/lib/server/storage';

const [key] = process.argv.slice(2);
if (!key) throw new Error('usage: object-proxy.ts <object key> (S3_* settings in the environment)');
const store = await createObjectStore(loadConfig(process.env).storage);

const server = http.createServer((request, response) => {
	store.get(key).then(
		(object) => {
			response.writeHead(200, {
				'content-type': 'application/octet-stream',
				'content-length': String(object.size)
			});
			object.body.once('error', () => response.destroy());
			object.body.pipe(response);
		},
		() => {
			response.writeHead(503).end();
		}
	);
});
server.listen(0, '127.0.0.1', () => {
	const address = server.address();
	console.log(typeof address === 'object' && address ? address.port : 0);
});
