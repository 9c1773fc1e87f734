import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';

export interface RunningTlsProxy {
	/** `https://localhost:<port>`: what the app's ORIGIN must be. */
	origin: string;
	port: number;
	/** The app's plain HTTP port: set it before the app starts listening. */
	forwardTo(port: number): void;
	stop(): Promise<void>;
}

/**
 * A TLS terminator in front of an app on loopback, as a deployment's reverse proxy: it holds a
 * throwaway self-signed certificate for `localhost` (made with the openssl command) and passes
 * each connection's bytes on to the app's HTTP port unchanged. A browser reaches the app over
 * https (with `ignoreHTTPSErrors`), so production's Secure `__Host-` cookie, HSTS and CSP are
 * what it gets. Started before the app, whose ORIGIN must name the proxy's port.
 */
export async function startTlsProxy(): Promise<RunningTlsProxy> {
	const dir = mkdtempSync(path.join(os.tmpdir(), 'jiss-tls-'));
	try {
		execFileSync(
			'openssl',
			[
				'req',
				'-x509',
				'-newkey',
				'ec',
				'-pkeyopt',
				'ec_paramgen_curve:prime256v1',
				'-nodes',
				'-days',
				'1',
				'-subj',
				'/CN=localhost',
				'-addext',
				'subjectAltName=DNS:localhost',
				'-keyout',
				path.join(dir, 'key.pem'),
				'-out',
				path.join(dir, 'cert.pem')
			],
			{ stdio: ['ignore', 'ignore', 'pipe'] }
		);
	} catch (error) {
		rmSync(dir, { recursive: true, force: true });
		throw new Error('The TLS proxy needs the openssl command to make its certificate', {
			cause: error
		});
	}
	const key = readFileSync(path.join(dir, 'key.pem'));
	const cert = readFileSync(path.join(dir, 'cert.pem'));
	rmSync(dir, { recursive: true, force: true });

	let target: number | undefined;
	const sockets = new Set<net.Socket>();
	const server = tls.createServer({ key, cert }, (client) => {
		if (target === undefined) {
			client.destroy();
			return;
		}
		const upstream = net.connect(target, '127.0.0.1');
		for (const socket of [client, upstream]) {
			sockets.add(socket);
			socket.once('close', () => sockets.delete(socket));
		}
		client.on('error', () => upstream.destroy());
		upstream.on('error', () => client.destroy());
		client.pipe(upstream).pipe(client);
	});
	await new Promise<void>((resolve, reject) => {
		server.once('error', reject);
		server.listen(0, '127.0.0.1', () => resolve());
	});
	const port = (server.address() as net.AddressInfo).port;
	return {
		origin: `https://localhost:${port}`,
		port,
		forwardTo(appPort) {
			target = appPort;
		},
		stop() {
			for (const socket of sockets) socket.destroy();
			return new Promise((resolve) => server.close(() => resolve()));
		}
	};
}
