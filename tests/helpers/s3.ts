import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export interface RunningS3 {
	endpoint: string;
	bucket: string;
	port: number;
	stop(): Promise<void>;
}

const script = fileURLToPath(new URL('./s3rver-process.js', import.meta.url));

/**
 * A real S3-compatible HTTP server on a loopback port, with one empty bucket. It runs in a
 * child process (see s3rver-process.js for why), which ends with the test process.
 */
export async function startS3Server(bucket = 'jiss-test', port = 0): Promise<RunningS3> {
	const directory = mkdtempSync(path.join(os.tmpdir(), 'jiss-s3rver-'));
	const child = spawn(
		process.execPath,
		['--openssl-legacy-provider', script, bucket, String(port), directory],
		{ stdio: ['pipe', 'pipe', 'inherit'] }
	);
	const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
	const started = await new Promise<{ port: number }>((resolve, reject) => {
		const lines = createInterface({ input: child.stdout! });
		lines.once('line', (line) => resolve(JSON.parse(line) as { port: number }));
		child.once('exit', (code) => reject(new Error(`s3rver exited with code ${code}`)));
		child.once('error', reject);
	});
	return {
		endpoint: `http://127.0.0.1:${started.port}`,
		bucket,
		port: started.port,
		async stop() {
			if (child.exitCode === null && child.signalCode === null) {
				child.stdin!.end();
				await exited;
			}
			rmSync(directory, { recursive: true, force: true });
		}
	};
}
